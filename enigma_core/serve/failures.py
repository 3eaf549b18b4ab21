"""Map what engine work raised to the client's error: 4xx for the request, 5xx naming a plugin.

Never a traceback: one line for the client, one line in the server log for the unexpected.
"""

from __future__ import annotations

import os
import re
import traceback
from typing import TYPE_CHECKING

from enigma_core.errors import EnigmaError, TaskFailed, UpstreamError
from enigma_core.serve.errors import ApiError
from enigma_core.serve.lanes import Contained, LaneTimeout
from enigma_core.serve.state import log

if TYPE_CHECKING:
    from enigma_core.serve.routing import Decision
    from enigma_core.serve.state import ServerState

PLUGIN_FAILED = re.compile(r"^plugin '([^']+)' failed to run task '([^']+)'")
NO_RUNNER = re.compile(r"^plugin '([^']+)' registers task '([^']+)' but did not run it")


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def to_api_error(
    exc: BaseException, decision: Decision | None, state: ServerState, timeout: float
) -> ApiError:
    """The client-facing error for ``exc``, with the ``x-enigma-*`` headers once routed."""
    error = _classify_error(exc, decision, state, timeout)
    if decision is not None:
        error.headers = {**decision.headers(), **error.headers}
    return error


def _classify_error(
    exc: BaseException, decision: Decision | None, state: ServerState, timeout: float
) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    task = decision.task if decision is not None else None
    plugin = (decision.plugin if decision is not None else None) or "none"
    errors = state.metrics.plugin_errors
    if isinstance(exc, LaneTimeout):
        if task is None:
            return ApiError(
                504, f"request did not finish within {timeout:g} s (server busy)", "timeout"
            )
        errors.labels(plugin, "timeout").inc()
        return ApiError(
            504,
            f"task {task!r} (plugin {plugin!r}) did not finish within {timeout:g} s",
            "task_timeout",
        )
    if isinstance(exc, Contained):
        errors.labels(plugin, "exit").inc()
        where = f"task {task!r}" if task else "routing"
        return ApiError(
            502,
            f"plugin {plugin!r} stopped while running {where} ({_one_line(exc)}); contained",
            "plugin_error",
        )
    if isinstance(exc, TaskFailed):
        errors.labels(exc.plugin or plugin, "failed").inc()
        return ApiError(502, _one_line(exc), "plugin_error")
    if isinstance(exc, UpstreamError):
        errors.labels(plugin, "upstream").inc()
        return ApiError(exc.http_status, _one_line(exc), exc.code)
    if isinstance(exc, EnigmaError):
        message = _one_line(exc)
        failed = PLUGIN_FAILED.match(message)
        failed = failed or NO_RUNNER.match(message)
        if failed:
            errors.labels(failed.group(1), "failed").inc()
            return ApiError(502, message, "plugin_error")
        return ApiError(400, message, "request_refused")
    log(f"internal error: {type(exc).__name__}: {_one_line(exc)}")
    if os.environ.get("ENIGMA_DEBUG", "") not in ("", "0", "false", "no"):
        traceback.print_exception(exc)
    return ApiError(500, "internal server error (see the server log)", "internal_error")
