"""Tell the user's Ctrl-C apart from a plugin that raises ``KeyboardInterrupt`` itself.

The CLI installs :func:`install_sigint_handler`; a ``KeyboardInterrupt`` that a plugin hook raises
without a real SIGINT is then that plugin's failure (contained), while the user's own Ctrl-C
still stops enigma. Without the handler (a host program), every ``KeyboardInterrupt`` counts as
the user's.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_pressed = threading.Event()
_installed = threading.Event()


def _handle_sigint(signum: int, frame: FrameType | None) -> None:
    """Remember that the user pressed Ctrl-C, then interrupt as Python's default handler does."""
    _pressed.set()
    raise KeyboardInterrupt


def install_sigint_handler() -> None:
    """Install the remembering SIGINT handler (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handle_sigint)
        _installed.set()


def user_interrupted() -> bool:
    """True when a ``KeyboardInterrupt`` now in flight may be the user's own Ctrl-C."""
    return _pressed.is_set() or not _installed.is_set()
