"""The strawberry ``Info`` type every resolver receives."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from hub.context import RequestContext

Info: TypeAlias = strawberry.Info[RequestContext, None]
