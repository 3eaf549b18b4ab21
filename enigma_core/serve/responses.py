"""Small response helpers shared by the endpoints: JSON bodies and the per-request decision note."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from enigma_core.serve.routing import Decision
    from enigma_core.types import Classification

SCOPE_KEY = "enigma.note"
"""Where handlers leave intent/task/via for the access log and the request counter."""


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact UTF-8 JSON response."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status_code=status, headers=headers, media_type="application/json")


def note(request: Request, **fields: str) -> None:
    """Record routing facts of this request for the access log and metrics."""
    target = request.scope.get(SCOPE_KEY)
    if target is not None:
        target.update(fields)


def note_decision(request: Request, decision: Decision) -> None:
    """Record a routing decision."""
    c = decision.classification
    note(
        request,
        intent=c.intent,
        via=c.via,
        task=decision.task or "none",
    )


def classification_headers(c: Classification) -> dict[str, str]:
    """The ``x-enigma-*`` headers of a bare classification (no task chosen)."""
    return {
        "x-enigma-intent": c.intent,
        "x-enigma-confidence": f"{float(c.confidence):.6f}",
        "x-enigma-via": c.via,
    }
