"""``enigma serve``: the OpenAI-compatible routing server (needs ``enigma-core[serve]``).

Only typer is imported here; the server stack loads when the command runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from enigma_core.errors import EnigmaError

SERVE_MODULES = ("starlette", "uvicorn", "prometheus_client")


def _require_extra() -> None:
    missing = [m for m in SERVE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise EnigmaError(
            f"enigma serve needs {', '.join(missing)}: pip install 'enigma-core[serve]'"
        )


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the port.")] = 1,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="ENIGMA_API_KEY",
            show_envvar=True,
            help="Require 'Authorization: Bearer KEY' on every endpoint but /healthz and /readyz.",
        ),
    ] = None,
    allow_files: Annotated[
        Path | None,
        typer.Option(
            "--allow-files",
            help="Let tasks read files named in requests, only inside DIR (default: none).",
        ),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Router model directory (overrides the config).")
    ] = None,
    threads: Annotated[int, typer.Option(help="Tasks run at once per worker.")] = 4,
    queue: Annotated[
        int, typer.Option(help="Requests waiting for a thread before 429 (per worker).")
    ] = 64,
    timeout: Annotated[
        float, typer.Option(help="Seconds a request (and its task) may take before 504.")
    ] = 60.0,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body, in MiB.")] = 8.0,
    grace: Annotated[
        float, typer.Option(help="Seconds in-flight requests get to finish on SIGTERM.")
    ] = 30.0,
    preload: Annotated[
        bool, typer.Option("--preload", help="Load every task's model at start, not on first use.")
    ] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="One stderr line per request.")
    ] = True,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray", help="Serve on Ray Serve: one deployment per task (docs/SCALING.md)."
        ),
    ] = False,
    address: Annotated[
        str | None,
        typer.Option(help="With --ray: join this Ray cluster ('auto'); default: start one."),
    ] = None,
    status: Annotated[
        bool, typer.Option("--status", help="With --ray: show deployments and replicas, then exit.")
    ] = False,
) -> None:
    """Serve the OpenAI API (chat completions, models) plus classify/route/metrics over HTTP."""
    _require_extra()
    if (address or status) and not ray:
        raise EnigmaError("--address and --status need --ray")
    if ray and importlib.util.find_spec("ray") is None:
        raise EnigmaError("enigma serve --ray needs Ray Serve: pip install 'enigma-core[ray]'")
    if status:
        from enigma_core.serve.ray_serve.run import status as ray_status

        typer.echo(ray_status(address))
        return
    from enigma_core.serve.server import run
    from enigma_core.serve.settings import ServeSettings

    if not max_body_mb > 0:
        raise EnigmaError("--max-body-mb must be more than 0")
    settings = ServeSettings(
        host=host,
        port=port,
        workers=workers,
        api_key=api_key,
        allow_files=str(allow_files) if allow_files is not None else None,
        router_model=str(model) if model is not None else None,
        threads=threads,
        queue=queue,
        timeout=timeout,
        max_body=int(max_body_mb * 1024 * 1024),
        grace=grace,
        preload=preload,
        access_log=access_log,
    )
    if ray:
        from enigma_core.serve.ray_serve.run import run as run_ray

        run_ray(settings, address)
        return
    run(settings)
