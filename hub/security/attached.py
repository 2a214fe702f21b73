"""The principal and access scope the HTTP gate (``middleware.py``) attached to a request."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from .principal import ANONYMOUS, Principal
from .scope import NOTHING, AccessScope

PRINCIPAL_KEY = "crmhub.principal"
ACCESS_KEY = "crmhub.access"


def attach(scope: MutableMapping[str, Any], principal: Principal, access: AccessScope) -> None:
    state = scope.setdefault("state", {})
    state[PRINCIPAL_KEY] = principal
    state[ACCESS_KEY] = access


def attached(request: Any) -> tuple[Principal, AccessScope]:
    """What the gate admitted ``request`` as; a request that did not pass the gate is anonymous and sees
    nothing (fail closed)."""
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, dict) else None
    if not isinstance(state, dict):
        return ANONYMOUS, NOTHING
    principal, access = state.get(PRINCIPAL_KEY), state.get(ACCESS_KEY)
    if isinstance(principal, Principal) and isinstance(access, AccessScope):
        return principal, access
    return ANONYMOUS, NOTHING
