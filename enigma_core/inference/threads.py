"""Limit the BLAS thread pool numpy uses: one thread decodes small models fastest.

Matrix-vector products of a few MB gain nothing from threads, and on a busy 2-core laptop
OpenBLAS threads fighting for cores made decoding ~3x slower in our measurements.
"""

from __future__ import annotations

from typing import Any

_limiter: Any = None


def limit_blas_threads(n: int = 1) -> bool:
    """Cap numpy's BLAS threads at ``n`` for this process; False when threadpoolctl is absent.

    Without threadpoolctl, set ``OPENBLAS_NUM_THREADS=1`` before numpy is imported instead.
    """
    global _limiter
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    _limiter = threadpool_limits(limits=n, user_api="blas")
    return True
