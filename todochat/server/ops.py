"""What operators and browsers fetch: `/healthz`, `/metrics` and the web page."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from todochat.server.auth import OperatorDep

router = APIRouter()
STATIC = files("todochat.server") / "static"
TYPES = {"js": "text/javascript", "css": "text/css"}
PAGE_FILES = {"app.js", "style.css"}


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (no token needed, nothing read): for a load balancer."""
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, _operator: OperatorDep) -> PlainTextResponse:
    """What `sessions stats --format prometheus` prints; for operator tokens only."""
    text = await request.app.state.core.prometheus_text()
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


@router.get("/", response_class=HTMLResponse)
def page() -> HTMLResponse:
    """The web page: a token field, conversations, a message box, the task list."""
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The page's script and style sheet (shipped with the package, no CDN)."""
    if name not in PAGE_FILES:
        raise HTTPException(404, f"no file {name[:64]}")
    kind = TYPES[name.rsplit(".", 1)[1]]
    return Response((STATIC / name).read_bytes(), media_type=f"{kind}; charset=utf-8")
