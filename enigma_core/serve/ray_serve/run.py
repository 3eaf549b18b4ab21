"""Start (or join) Ray, run the enigma application on Serve until a signal, then stop it."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
from typing import Any

from enigma_core.errors import EnigmaError
from enigma_core.serve.settings import ServeSettings
from enigma_core.serve.state import log


def specialist_tasks() -> tuple[list[str], Any]:
    """The tasks that get a deployment (every routable one) and the config's ``ray`` section."""
    from enigma_core.engine import EnigmaEngine

    engine = EnigmaEngine(log=False)
    tasks = sorted(n for n, t in engine.tasks.items() if t.intents and not t.classifies)
    return tasks, engine.config.section("ray")


def connect(address: str | None) -> bool:
    """Join the cluster at ``address``, or start a local Ray; True when started here."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        try:
            ray.init(address=address, namespace="serve", log_to_driver=False)
        except ConnectionError as exc:
            raise EnigmaError(f"--address {address}: no Ray cluster there ({exc})") from None
        return False
    ray.init(namespace="serve", include_dashboard=False, log_to_driver=False)
    return True


def run(settings: ServeSettings, address: str | None) -> None:
    """``enigma serve --ray``: deploy, announce, serve until SIGINT/SIGTERM, then tear down."""
    settings.validate()
    if settings.workers != 1:
        raise EnigmaError("--workers does not apply with --ray: set ray.ingress.num_replicas")
    if settings.port == 0:  # Serve's proxy needs a number: take one the OS says is free now
        settings = dataclasses.replace(settings, port=_free_port(settings.host))
    tasks, raw = specialist_tasks()
    from enigma_core.serve.ray_serve.options import deployment_options

    for task in [None, *tasks]:
        deployment_options(raw, task)  # a bad config fails here, before Ray starts
    import ray
    from ray import serve

    from enigma_core.serve.ray_serve.deployments import APP_NAME, build_app

    started = connect(address)
    try:
        serve.start(http_options={"host": settings.host, "port": settings.port})
        serve.run(build_app(settings, tasks, raw), name=APP_NAME, route_prefix="/")
        gcs = ray.get_runtime_context().gcs_address
        log(
            f"listening on http://{settings.host}:{settings.port} (Ray Serve at {gcs}, "
            f"{len(tasks)} task deployment(s): {', '.join(tasks)})"
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        log("stopping")
        _bounded(serve.shutdown if started else lambda: serve.delete(APP_NAME), settings.grace)
    finally:
        if started:
            ray.shutdown()
    log("stopped")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _bounded(teardown: Any, seconds: float) -> None:
    """Run ``teardown`` for at most ``seconds`` (a dead cluster must not hang the command)."""
    worker = threading.Thread(target=teardown, daemon=True)
    worker.start()
    worker.join(max(seconds, 1.0))
    if worker.is_alive():
        log(f"Ray Serve did not stop within {max(seconds, 1.0):g} s; leaving it")


def status(address: str | None) -> str:
    """Deployments and their replicas on the cluster at ``address`` (default: ``auto``)."""
    import ray
    from ray import serve

    try:
        ray.init(address=address or "auto", namespace="serve", log_to_driver=False)
    except ConnectionError as exc:
        raise EnigmaError(f"no Ray cluster at {address or 'auto'} ({exc})") from None
    try:
        apps = serve.status().applications
        lines = []
        for name, app in apps.items():
            lines.append(f"application {name}: {app.status.value}")
            for dep_name, dep in app.deployments.items():
                replicas = ", ".join(f"{k} {v}" for k, v in dep.replica_states.items())
                lines.append(f"  {dep_name}: {dep.status.value} ({replicas or 'no replicas'})")
        return "\n".join(lines) or "no Serve application running"
    finally:
        ray.shutdown()
