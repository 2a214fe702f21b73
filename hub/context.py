"""What a request carries through the service layer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .loaders import Loaders
from .security.attached import attached
from .security.principal import SYSTEM, Principal
from .security.scope import UNRESTRICTED, AccessScope

if TYPE_CHECKING:
    from .hub import Hub


@dataclass
class RequestContext:
    hub: Hub
    loaders: Loaders
    #: The transport's request/response objects, opaque to the domain.
    request: Any = None
    response: Any = None
    #: Who acts in this request; recorded on every CRM write (authentication sets it).
    actor: str = "anonymous"
    extra: dict[str, Any] = field(default_factory=dict)
    #: ``time.monotonic()`` when the request arrived; the request deadline counts from here.
    started_at: float = field(default_factory=time.monotonic)
    #: Who is asking and which records they may see (``hub.security``). In-process callers (CLI, jobs,
    #: tests of the services) act as the system; an HTTP request gets what the security gate admitted.
    principal: Principal = SYSTEM
    access: AccessScope = UNRESTRICTED

    @classmethod
    def for_hub(cls, hub: Hub, *, request: Any = None, response: Any = None) -> RequestContext:
        context = cls(hub=hub, loaders=Loaders(hub), request=request, response=response)
        if request is not None:
            context.principal, context.access = attached(request)
            context.actor = context.principal.name
        return context
