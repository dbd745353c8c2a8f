"""Shopper identity over HTTP: mint a token (admin), exchange one for the storefront's HttpOnly cookie, sign
out, and ask who the server thinks you are. See the README's "Security" section for minting tokens in the
store's own backend with ``SHOPSENSE_SECRET``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.errors import ApiError
from shopsense.api.identity import SHOPPER_COOKIE, CallerDep, require_admin, signer
from shopsense.api.schemas import Id, reject_personal_id
from shopsense.core.identity import DEFAULT_SHOPPER_TTL, MAX_SHOPPER_TTL, SHOPPER, InvalidToken

router = APIRouter(prefix="/v1/auth", tags=["identity"])


class TokenRequest(BaseModel):
    """The shopper the store's backend vouches for, and how long the token lives."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Id
    ttl_seconds: int = Field(default=DEFAULT_SHOPPER_TTL, ge=60, le=MAX_SHOPPER_TTL)

    _no_personal_ids = reject_personal_id("user_id")


class TokenOut(BaseModel):
    token: str
    user_id: str
    expires_at: str


class SessionIn(BaseModel):
    """A shopper token to keep in the storefront's HttpOnly cookie."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=4096)


class WhoAmI(BaseModel):
    user_id: str | None = Field(description="The verified shopper, or null for an anonymous visitor.")
    anonymous: bool


def _expiry(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@router.post("/shopper-token", response_model=TokenOut, dependencies=[Depends(require_admin)])
def shopper_token(body: TokenRequest, request: Request) -> TokenOut:
    """A signed shopper token for ``user_id`` (admin key required), for a backend that does not hold the
    secret; one that does mints its own (README, "Security")."""
    tokens = signer(request)
    token = tokens.mint(body.user_id, SHOPPER, body.ttl_seconds)
    return TokenOut(token=token, user_id=body.user_id, expires_at=_expiry(tokens.verify(token).expires_at))


@router.post("/session", response_model=WhoAmI)
def sign_in(body: SessionIn, request: Request) -> WhoAmI:
    """Keep a valid shopper token in the HttpOnly ``shopsense_shopper`` cookie (the storefront's sign-in)."""
    try:
        claims = signer(request).verify(body.token, SHOPPER)
    except InvalidToken as exc:
        raise ApiError(401, f"shopper token rejected: {exc}", field="token") from None
    ttl = max(claims.expires_at - int(datetime.now(UTC).timestamp()), 1)
    request.state.set_cookies = [*getattr(request.state, "set_cookies", []),
                                 (SHOPPER_COOKIE, body.token, ttl, "lax")]
    return WhoAmI(user_id=claims.subject, anonymous=False)


@router.delete("/session", response_model=WhoAmI)
def sign_out(request: Request) -> WhoAmI:
    """Forget the shopper cookie: the browser goes on as an anonymous visitor."""
    request.state.clear_shopper_cookie = True
    return WhoAmI(user_id=None, anonymous=True)


@router.get("/me", response_model=WhoAmI)
def who_am_i(caller: CallerDep) -> dict[str, Any]:
    """Who the server takes the caller for: a verified shopper, or anonymous."""
    return {"user_id": caller.user_id, "anonymous": caller.user_id is None}
