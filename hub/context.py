"""What a request carries through the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .loaders import Loaders

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

    @classmethod
    def for_hub(cls, hub: Hub, *, request: Any = None, response: Any = None) -> RequestContext:
        return cls(hub=hub, loaders=Loaders(hub), request=request, response=response)
