"""``GET /``: the dashboard page, a data-free shell with its CSS and JavaScript inlined.

The assets are package data (``enigma_core/serve/static``), read once; inlining them keeps
``/`` the only public path besides the probes: everything the page shows is fetched with the key.
"""

from __future__ import annotations

import functools
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


@functools.lru_cache(maxsize=1)
def page_html() -> str:
    """The page: ``dashboard.html`` with ``dashboard.css`` and ``dashboard.js`` put in."""
    static = resources.files("enigma_core.serve") / "static"
    html = (static / "dashboard.html").read_text(encoding="utf-8")
    css = (static / "dashboard.css").read_text(encoding="utf-8")
    js = (static / "dashboard.js").read_text(encoding="utf-8")
    return html.replace("/*CSS*/", css).replace("/*JS*/", js)


async def page(_request: Request) -> Response:
    """The dashboard (no data in it: the script asks for the key, then for data)."""
    headers = {
        "Content-Security-Policy": CSP,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(page_html(), headers=headers)
