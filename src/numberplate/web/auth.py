"""API authentication: ``Authorization: Token <key>`` (or ``Bearer <key>``), checked against hashed tokens."""

from __future__ import annotations

from flask import g, request

from numberplate.errors import AuthError
from numberplate.store.tokens import TokenInfo
from numberplate.web.state import get_state

_SCHEMES = ("token", "bearer")


def bearer_token() -> str | None:
    """The token in the Authorization header, or None when there is none."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in _SCHEMES or not value.strip():
        raise AuthError("the Authorization header must be 'Token <your API token>'")
    return value.strip()


def require_token(count: bool = True) -> TokenInfo | None:
    """Authenticate and count this API call (``g.token``); None when ``api_auth`` is off and no token was sent.

    Args:
        count: count the call against the token's limits; off for asking about usage, which must answer
            even when the limits are reached.

    Raises:
        AuthError: a missing, malformed, unknown or revoked token (401).
        RateLimitedError: over the token's per-minute or monthly limit (429), when ``count`` is on.
    """
    state = get_state()
    token = bearer_token()
    if token is None:
        if not state.config.api_auth:
            g.token = None
            return None
        raise AuthError("this API needs a token: send 'Authorization: Token <key>'; create one with "
                        "`numberplate token create NAME`")
    info = state.tokens.authenticate(token)
    if count:
        state.tokens.count_call(info, state.config.rate_limit_per_minute or None)
    g.token = info
    return info
