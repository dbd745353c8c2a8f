"""Signed tokens: the shopper identity the store's backend vouches for, and the server's own cookies.

A shopper token is a JWT (HS256) signed with the workspace secret, carrying the shopper's id in ``sub``,
``typ: "shopper"`` and an expiry. The store's backend mints it with the same secret (or asks
``POST /v1/auth/shopper-token`` with the admin key); the server believes a user id only when it comes
inside a valid token. The same signer issues the anonymous visitor cookie and the admin session, each with
its own ``typ`` so that one can never be replayed as another.

The secret is ``SHOPSENSE_SECRET`` when set; otherwise one is generated once into ``<home>/secret.key``
(mode 0600), so every process of a workspace shares it and tokens survive a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "shopsense"
SHOPPER, VISITOR, ADMIN = "shopper", "visitor", "admin"
MAX_SHOPPER_TTL = 7 * 86400  # a week: a stolen token must not work for ever
DEFAULT_SHOPPER_TTL = 3600
MIN_SECRET_CHARS = 32
SECRET_FILE = "secret.key"
DEMO_ADMIN_KEY_FILE = "demo-admin.key"


class InvalidToken(ValueError):
    """A token that is expired, forged, malformed or of the wrong kind; the message says which."""


@dataclass(frozen=True)
class Claims:
    subject: str
    kind: str
    expires_at: int


class Signer:
    """Mints and verifies the workspace's tokens."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"SHOPSENSE_SECRET must be at least {MIN_SECRET_CHARS} characters long")
        self._secret = secret

    def mint(self, subject: str, kind: str = SHOPPER, ttl_seconds: int = DEFAULT_SHOPPER_TTL,
             **extra: Any) -> str:
        now = int(time.time())
        claims = {"sub": subject, "typ": kind, "iat": now, "exp": now + ttl_seconds, "iss": ISSUER, **extra}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def derive(self, value: str) -> str:
        """A value only this workspace can compute from ``value`` (HMAC-SHA256), e.g. a CSRF token."""
        return hmac.new(self._secret.encode(), value.encode(), hashlib.sha256).hexdigest()

    def verify(self, token: str, kind: str = SHOPPER) -> Claims:
        """The token's claims, or :class:`InvalidToken` saying what is wrong with it."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, leeway=30,
                                options={"require": ["sub", "exp", "typ"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired: ask the store's backend for a fresh one") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature is not valid: it was not signed with this store's "
                               "SHOPSENSE_SECRET") from None
        except jwt.DecodeError:
            raise InvalidToken("the token is malformed: expected a JWT (three base64url parts)") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        if claims.get("typ") != kind:
            raise InvalidToken(f"this is a {claims.get('typ')!r} token, not a {kind!r} token")
        subject = claims["sub"]
        if not isinstance(subject, str) or not 1 <= len(subject) <= 255:
            raise InvalidToken("the token's subject (sub) must be a user id of 1-255 characters")
        return Claims(subject=subject, kind=kind, expires_at=int(claims["exp"]))


def workspace_secret(configured: str | None, home: Path, name: str = SECRET_FILE) -> str:
    """``configured`` (``SHOPSENSE_SECRET``), or the workspace's generated secret ``name`` (created on first use,
    atomically, readable by its owner only)."""
    if configured:
        return configured
    path = home / name
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
                out.flush()
                os.fsync(out.fileno())
    for _ in range(50):  # a concurrent creator may not have written it yet
        secret = path.read_text().strip()
        if secret:
            return secret
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it (tokens issued with it stop working) or set SHOPSENSE_SECRET")
