"""Run the server: bind, then one uvicorn worker in this process or N supervised workers.

SIGTERM or Ctrl-C drains: new requests get 503, in-flight ones (streams included) finish,
up to ``--grace`` seconds; a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from types import FrameType
from typing import Any

import uvicorn

from enigma_core.serve.settings import ServeSettings
from enigma_core.serve.state import ServerState, log


def bind(settings: ServeSettings) -> socket.socket:
    """The listening socket (bound here so port 0 works and workers can share it)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        from enigma_core.errors import EnigmaError

        raise EnigmaError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app: Any, settings: ServeSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="auto",
        http="auto",
        ws="none",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=max(1, int(settings.grace)),
        timeout_keep_alive=5,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1,::1",  # X-Forwarded-For only from a local proxy
    )


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain phase before its own shutdown."""

    def __init__(self, config: uvicorn.Config, state: ServerState) -> None:
        super().__init__(config)
        self.state = state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._interrupts = 0

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain. Ctrl-C again: stop now. A repeated SIGTERM (a supervisor and a
        service manager both sending one) changes nothing: the drain goes on, ``--grace`` bounds it.
        """
        if self._loop is None or not self.started:
            self.should_exit = True
        elif not self.state.draining:
            self.state.draining = True
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._drain()))
        elif sig == signal.SIGINT:
            self._interrupts += 1
            self.should_exit = True
            self.force_exit = self._interrupts > 1

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.state.settings.grace
        log(f"draining: {self.state.in_flight} request(s) in flight")
        while self.state.in_flight > 0 and loop.time() < deadline:
            await asyncio.sleep(0.02)
        self.should_exit = True


SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (Python's default: 0.005).

The event loop and the classify thread take turns with the GIL; with the default each may wait
5 ms for the other. Measured with two servers side by side (wrk alternating, concurrency 16,
median of 5 rounds): 2,969 classify req/s and p99 28 ms at 1 ms, against 2,380 and 42 ms at
5 ms (docs/SERVING.md)."""


def serve_socket(settings: ServeSettings, sock: socket.socket) -> None:
    """Run one worker on an already bound socket until it is told to stop."""
    from enigma_core.serve.app import create_app

    sys.setswitchinterval(SWITCH_INTERVAL)
    gate = create_app(settings)
    server = DrainingServer(_uvicorn_config(gate, settings), gate.state)
    server.run(sockets=[sock])


def address(settings: ServeSettings, sock: socket.socket) -> str:
    """``http://host:port`` of the bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(settings: ServeSettings) -> None:
    """``enigma serve``: bind, announce, then serve until drained."""
    settings.validate()
    sock = bind(settings)
    files = f"within {settings.allow_files}" if settings.allow_files else "none"
    key = "on" if settings.api_key else "off"
    log(
        f"listening on {address(settings, sock)} ({settings.workers} worker(s), "
        f"{settings.threads} thread(s), queue {settings.queue}, timeout {settings.timeout:g} s, "
        f"files: {files}, api key: {key})"
    )
    if not settings.loopback and not settings.api_key:
        log("warning: listening beyond this machine without --api-key; anyone can call it")
    if settings.workers == 1:
        serve_socket(settings, sock)
        log("stopped")
        return
    from enigma_core.serve.supervisor import supervise

    code = supervise(settings, sock)
    log("stopped")
    if code:
        sys.exit(code)


def worker_main() -> None:
    """Entry of a supervised worker: settings on stdin, the socket's fd in argv."""
    fd = int(sys.argv[1])
    settings = ServeSettings.from_json(sys.stdin.read())
    sys.stdin.close()
    sock = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)
    serve_socket(settings, sock)
