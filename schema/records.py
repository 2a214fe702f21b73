"""Types that wrap one canonical silo record: fields read the record's attributes.

Most fields of a silo-backed type are a plain attribute of the canonical record; ``record_field``
declares one in a line, and ``SourceRecord`` gives every such type its ``id``, ``source`` and
``externalId``.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.field import StrawberryField


class RecordField(StrawberryField):
    """A field read from the wrapped canonical record, ``root._record.<attr>``.

    It has no resolver, so strawberry treats it as a basic field: graphql-core reads it without building an
    ``Info``, parsing arguments or running an extension chain. A resolver field costs several times more,
    and a customer 360 completes about a hundred of these.
    """

    def __init__(self, *args: Any, record_attr: str | None = None, **kwargs: Any) -> None:
        # Basic fields are dataclass fields; the default keeps them out of the constructor's required
        # arguments (the value always comes from the record).
        kwargs.setdefault("default", None)
        super().__init__(*args, **kwargs)
        self.record_attr = record_attr

    def __copy__(self) -> RecordField:
        copied = super().__copy__()
        copied.record_attr = self.record_attr
        return copied

    def get_result(self, source: Any, info: Any, args: list[Any], kwargs: Any) -> Any:
        return getattr(source._record, self.record_attr or self.python_name)


def record_field(attr: str, graphql_type: Any, description: str | None = None) -> Any:
    """A field resolved as ``root._record.<attr>``."""
    return RecordField(
        type_annotation=StrawberryAnnotation.from_annotation(graphql_type),
        description=description,
        record_attr=attr,
    )


def _global_id(root: Any) -> strawberry.ID:
    return strawberry.ID(f"{root._record.source}:{root._record.external_id}")


@strawberry.type
class SourceRecord:
    _record: strawberry.Private[Any]

    id: strawberry.ID = strawberry.field(
        resolver=_global_id, description="`source:externalId`, unique across the hub."
    )
    source: str = record_field("source", str, "The configured source the record comes from.")
    external_id: str = record_field("external_id", str, "The record's key in its source.")
