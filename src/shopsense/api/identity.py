"""Who is calling: a verified shopper (a signed token), an anonymous visitor (a signed cookie), an admin.

A ``user_id`` in a body or a query is a claim, never an identity: only a shopper token signed with the
workspace secret makes a caller that user. It comes in ``Authorization: Bearer <token>`` (the store's
backend or its pages) or in the HttpOnly ``shopsense_shopper`` cookie that ``POST /v1/auth/session`` sets.
Everyone else is an anonymous visitor, told apart by a signed HttpOnly cookie the server issues.

Admins send the admin key (``X-API-Key``, or ``Authorization: Bearer <key>`` for Prometheus), or sign in on
``/admin/login``, which sets an HttpOnly, SameSite=Strict admin cookie carrying a CSRF token for forms.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from shopsense.api.errors import ApiError
from shopsense.core.identity import ADMIN, SHOPPER, VISITOR, Claims, InvalidToken, Signer

SHOPPER_COOKIE = "shopsense_shopper"
VISITOR_COOKIE = "shopsense_visitor"
ADMIN_COOKIE = "shopsense_admin"
API_KEY_HEADER = "X-API-Key"
VISITOR_TTL = 180 * 86400
ADMIN_TTL = 12 * 3600
_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="The admin key.")
AdminKey = Annotated[str | None, Security(_key_header)]


class Caller:
    """The identity of one request: ``user_id`` only when a valid shopper token proved it. The visitor id
    (and its cookie) is issued only when something asks for it: a recommendation for an admin key, say,
    never needs one."""

    def __init__(self, request: Request, user_id: str | None, client: str, admin: bool) -> None:
        self._request = request
        self.user_id, self.client, self.admin = user_id, client, admin
        self._visitor_id: str | None = None

    @property
    def visitor_id(self) -> str:
        if self._visitor_id is None:
            self._visitor_id = _visitor(self._request, signer(self._request))
        return self._visitor_id

    def acting_for(self, claimed: str | None) -> str | None:
        """The shopper a request is answered for: the admin key (the store's backend) may name anyone; a
        shopper token is that shopper, whatever the request claims; everyone else is anonymous."""
        return claimed if self.admin else self.user_id

    @property
    def owner(self) -> str:
        """Whose sessions this caller may read and continue."""
        return f"user:{self.user_id}" if self.user_id else f"visitor:{self.visitor_id}"

    @property
    def rate_key(self) -> str:
        """Rate limits follow the shopper, else the client address (a fresh cookie must not reset them)."""
        return f"user:{self.user_id}" if self.user_id else f"ip:{self.client}"


def signer(request: Request) -> Signer:
    return request.app.state.workspace.signer


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _shopper(request: Request, tokens: Signer) -> str | None:
    given = _bearer(request)
    if given is not None and not is_admin(request):
        try:
            return tokens.verify(given, SHOPPER).subject
        except InvalidToken as exc:
            raise ApiError(401, f"shopper token rejected: {exc}", field="Authorization",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    cookie = request.cookies.get(SHOPPER_COOKIE)
    if cookie:
        try:
            return tokens.verify(cookie, SHOPPER).subject
        except InvalidToken:  # an expired sign-in: the shopper browses on as a visitor, asked to sign in again
            request.state.clear_shopper_cookie = True
    return None


def _visitor(request: Request, tokens: Signer) -> str:
    cookie = request.cookies.get(VISITOR_COOKIE)
    if cookie:
        try:
            return tokens.verify(cookie, VISITOR).subject
        except InvalidToken:
            pass
    visitor_id = "v_" + secrets.token_urlsafe(12)
    request.state.set_cookies = [*getattr(request.state, "set_cookies", []),
                                 (VISITOR_COOKIE, tokens.mint(visitor_id, VISITOR, VISITOR_TTL), VISITOR_TTL, "lax")]
    return visitor_id


async def get_caller(request: Request) -> Caller:
    """The request's :class:`Caller` (the dependency; see :func:`caller_of`)."""
    return caller_of(request)


def caller_of(request: Request) -> Caller:
    """The request's verified shopper (401 for a bad token), its address, and whether it holds the admin key."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    caller = Caller(request, _shopper(request, signer(request)),
                    request.client.host if request.client else "unknown", is_admin(request))
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


# -- admin ----------------------------------------------------------------------------------------------
def admin_key_matches(configured: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), configured.encode())


def admin_session(request: Request) -> Claims | None:
    """The signed-in admin's session (from the login form's cookie), or None."""
    cookie = request.cookies.get(ADMIN_COOKIE)
    if not cookie or not request.app.state.workspace.settings.api_key:
        return None
    try:
        return signer(request).verify(cookie, ADMIN)
    except InvalidToken:
        return None


def csrf_token(request: Request) -> str:
    """The CSRF token the signed-in admin's forms carry (bound to their session cookie)."""
    return signer(request).derive("csrf:" + request.cookies.get(ADMIN_COOKIE, ""))


def check_csrf(request: Request, given: str | None) -> None:
    if admin_session(request) is None:
        raise ApiError(401, "sign in at /admin/login first", field=ADMIN_COOKIE)
    if not given or not hmac.compare_digest(given, csrf_token(request)):
        raise ApiError(403, "the form's CSRF token is missing or stale: reload the page and try again",
                       field="csrf_token")


def is_admin(request: Request) -> bool:
    """The request carries the admin key (header or bearer)."""
    configured = request.app.state.workspace.settings.api_key
    if not configured:
        return False
    return admin_key_matches(configured, request.headers.get(API_KEY_HEADER)) or admin_key_matches(
        configured, _bearer(request))


async def require_admin(request: Request, key: AdminKey = None) -> None:
    """The admin key in ``X-API-Key`` (or ``Authorization: Bearer``), or a signed-in admin session."""
    configured = request.app.state.workspace.settings.api_key
    if not configured:
        raise ApiError(403, "the admin surface is off: set SHOPSENSE_API_KEY on the server to turn it on",
                       field=API_KEY_HEADER)
    if is_admin(request):
        return
    if admin_session(request) is not None and request.method in ("GET", "HEAD"):
        return  # a browser session reads; its state changes go through forms that carry a CSRF token
    if key or _bearer(request):
        raise ApiError(401, "wrong admin key", field=API_KEY_HEADER)
    raise ApiError(401, f"admin only: send the admin key in the {API_KEY_HEADER} header, or sign in at "
                   "/admin/login", field=API_KEY_HEADER, headers={"WWW-Authenticate": "Bearer"})


class AdminSignInRequired(Exception):
    """An admin page asked for without an admin session: the app answers with the login form (or, when no
    admin key is configured, a page saying how to turn the admin surface on)."""

    def __init__(self, next_path: str, surface_off: bool) -> None:
        super().__init__(next_path)
        self.next_path, self.surface_off = next_path, surface_off


async def require_admin_page(request: Request) -> None:
    """Admin pages and their charts: a signed-in admin session or the admin key."""
    if not request.app.state.workspace.settings.api_key:
        raise AdminSignInRequired(request.url.path, surface_off=True)
    if is_admin(request) or admin_session(request) is not None:
        return
    query = f"?{request.url.query}" if request.url.query else ""
    raise AdminSignInRequired(request.url.path + query, surface_off=False)


async def require_read(request: Request, key: AdminKey = None) -> None:
    """Read endpoints need the admin key only when ``SHOPSENSE_OPEN_READS=false``."""
    if not request.app.state.workspace.settings.open_reads:
        await require_admin(request, key)
