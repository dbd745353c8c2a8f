"""Admin sign-in for the dashboard pages, their form actions (each with a CSRF token), and the interactive
API docs (admins only). The admin JSON API itself takes the key in ``X-API-Key`` (see ``routers/admin.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse

from shopsense.api.identity import (
    ADMIN_COOKIE,
    ADMIN_TTL,
    AdminSignInRequired,
    admin_key_matches,
    check_csrf,
    require_admin_page,
    signer,
)
from shopsense.api.routers.pages import templates
from shopsense.core.identity import ADMIN

router = APIRouter(include_in_schema=False)
Next = Annotated[str, Query(max_length=2000)]


def _safe_next(target: str) -> str:
    """Only a path of this site's admin surface (no open redirect to another host)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin"


def login_form(request: Request, next_path: str, error: str | None = None, status_code: int = 200,
               surface_off: bool = False) -> HTMLResponse:
    context = {"store": request.app.state.workspace.identity(),
               "next": _safe_next(next_path), "error": error, "surface_off": surface_off, "shopper": None,
               "demo": False, "demo_shoppers": [], "categories": [], "admin": False, "csrf": ""}
    return templates.TemplateResponse(request, "login.html", context, status_code=status_code)


def admin_sign_in_required(request: Request, exc: AdminSignInRequired) -> HTMLResponse | RedirectResponse:
    """The app's answer to an admin page without an admin session."""
    if exc.surface_off:
        return login_form(request, exc.next_path, status_code=403, surface_off=True)
    return RedirectResponse(f"/admin/login?next={_quote(exc.next_path)}", status_code=303)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


@router.get("/admin/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Next = "/admin") -> HTMLResponse:  # noqa: A002
    surface_off = not request.app.state.workspace.settings.api_key
    return login_form(request, next, status_code=403 if surface_off else 200, surface_off=surface_off)


@router.post("/admin/login", response_model=None)
async def login(request: Request, key: Annotated[str, Form(max_length=1000)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/admin") -> HTMLResponse | RedirectResponse:  # noqa: A002
    """Check the admin key; on success an HttpOnly, SameSite=Strict admin session cookie (12 hours)."""
    configured = request.app.state.workspace.settings.api_key
    if not configured:
        return login_form(request, next, status_code=403, surface_off=True)
    if not admin_key_matches(configured, key):
        return login_form(request, next, "That is not the admin key.", status_code=401)
    request.state.set_cookies = [(ADMIN_COOKIE, signer(request).mint("admin", ADMIN, ADMIN_TTL), ADMIN_TTL,
                                  "strict")]
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/admin/logout")
async def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> RedirectResponse:
    check_csrf(request, csrf_token)
    request.state.set_cookies = [(ADMIN_COOKIE, "", 0, "strict")]
    return RedirectResponse("/", status_code=303)


@router.post("/admin/tickets/{ticket_id}/resolve")
async def resolve_ticket(request: Request, ticket_id: Annotated[str, Path(max_length=32)],
                         csrf_token: Annotated[str, Form(max_length=200)] = "") -> RedirectResponse:
    """Mark a hand-over ticket handled (the dashboard's button)."""
    check_csrf(request, csrf_token)
    await run_in_threadpool(request.app.state.workspace.sessions().resolve_ticket, ticket_id)
    return RedirectResponse("/admin#tickets", status_code=303)


@router.get("/docs", response_class=HTMLResponse, dependencies=[Depends(require_admin_page)])
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="shopsense API")


@router.get("/redoc", response_class=HTMLResponse, dependencies=[Depends(require_admin_page)])
async def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title="shopsense API")
