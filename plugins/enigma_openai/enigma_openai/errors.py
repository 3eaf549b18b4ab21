"""The one error a backend call raises: a one-line message naming the backend, never its key."""

from __future__ import annotations

from enigma_core.errors import UpstreamError


class BackendError(UpstreamError):
    """A model server failed to answer (down, timed out, refused, broke its stream).

    ``http_status`` is what a gateway should answer its own client: 504 for a timeout, 502 for
    everything else the upstream did wrong.
    """

    def __init__(self, message: str, http_status: int = 502, code: str = "backend_error") -> None:
        super().__init__(message, http_status, code)


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` on one line, at most 300 characters, with each secret (a key, a query string
    that may hold one) masked out."""
    line = " ".join(str(text).split())
    for secret in secrets:
        if secret and len(secret) >= 4:
            line = line.replace(secret, "***")
    return line if len(line) <= 300 else line[:297] + "..."
