"""The per-entity part of the SQL adapter's YAML: which table (or query) and columns feed a canonical entity.

``EntitySpec`` is validated with the entity it describes in the validation context, so every problem is
reported at its exact place (``entities.order.fields.totl: unknown canonical field``) and a bad mapping
fails at start-up instead of on the first request.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from adapters.sdk.models import MODELS, Entity

#: Canonical fields an adapter never maps: the hub fills them in.
RESERVED_FIELDS = frozenset({"entity", "source"})


@dataclass(frozen=True, slots=True)
class Source:
    """Where a canonical value comes from: a column of the entity's table, or a SQL expression."""

    column: str | None = None
    expr: str | None = None

    @property
    def describe(self) -> str:
        return f"column {self.column!r}" if self.column is not None else f"expression {self.expr!r}"


def _parse_source(value: Any) -> Any:
    if isinstance(value, Source):
        return value
    if isinstance(value, str) and value.strip():
        return Source(column=value.strip())
    if isinstance(value, dict):
        value = {kind: text for kind, text in value.items() if text is not None}  # model_dump() gives both
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind in ("expr", "column") and isinstance(text, str) and text.strip():
            return Source(**{kind: text.strip()})
    raise PydanticCustomError("sql_source", "expected a column name or {expr: <SQL expression>}")


SourceSpec = Annotated[Source, BeforeValidator(_parse_source)]
NonEmptyStr = Annotated[str, Field(min_length=1)]


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """One ``order_by`` term: a canonical field (or ``external_id``) and its direction."""

    field: str
    descending: bool = False


def _problem(loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    return {"type": PydanticCustomError("sql_mapping", message), "loc": loc, "input": value}


def unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def canonical_field_type(entity: Entity, dotted: str) -> Any | None:
    """The annotation of a (possibly nested) canonical field, or ``None`` when the field does not exist."""
    model: Any = MODELS[entity]
    parts = dotted.split(".")
    if parts[0] in RESERVED_FIELDS:
        return None
    annotation: Any = None
    for position, part in enumerate(parts):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        if position < len(parts) - 1:
            model = unwrap_optional(annotation)
    return annotation


def _parse_order_by(value: Any) -> Any:
    """``"ordered_at desc, number"`` (or a list of such terms) -> ``OrderTerm``s."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise PydanticCustomError("sql_order_by", 'expected "field [asc|desc], ..." or a list of such terms')
    terms: list[OrderTerm] = []
    for raw in value:
        if isinstance(raw, OrderTerm):
            terms.append(raw)
            continue
        if isinstance(raw, dict) and isinstance(raw.get("field"), str):  # as model_dump() writes it
            terms.append(OrderTerm(raw["field"], bool(raw.get("descending"))))
            continue
        words = str(raw).split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise PydanticCustomError(
                "sql_order_by", f"term {str(raw).strip()!r} must be a canonical field, optionally asc or desc"
            )
        terms.append(OrderTerm(words[0], len(words) == 2 and words[1].lower() == "desc"))
    return tuple(terms)


class EntitySpec(BaseModel):
    """How one table (or query) maps onto one canonical entity; see ``adapters/sql/README.md``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: NonEmptyStr | None = None
    query: NonEmptyStr | None = None
    key: tuple[NonEmptyStr, ...]
    updated_at: SourceSpec | None = None
    fields: dict[str, SourceSpec] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    relations: tuple[str, ...] | None = None
    order_by: Annotated[tuple[OrderTerm, ...], BeforeValidator(_parse_order_by)] = ()

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("key"), str):
            data["key"] = [data["key"]]
        if isinstance(data.get("relations"), str):
            data["relations"] = [data["relations"]]
        return data

    @model_validator(mode="after")
    def _check_against_entity(self, info: ValidationInfo) -> EntitySpec:
        entity = (info.context or {}).get("entity")
        if not isinstance(entity, Entity):
            return self
        problems = self._problems(entity)
        if problems:
            raise ValidationError.from_exception_data(entity.value, problems)
        return self

    def _problems(self, entity: Entity) -> list[InitErrorDetails]:
        problems: list[InitErrorDetails] = []
        if (self.table is None) == (self.query is None):
            problems.append(_problem((), "set exactly one of table (a table name) or query (a SELECT)", None))
        if not self.key:
            problems.append(_problem(("key",), "name at least one key column", list(self.key)))
        for section, names in (("fields", self.fields), ("constants", self.constants)):
            for name in names:
                if name == "external_id":
                    problems.append(
                        _problem(
                            (section, name), "external_id comes from key; remove it from " + section, name
                        )
                    )
                elif canonical_field_type(entity, name) is None:
                    problems.append(_problem((section, name), "unknown canonical field", name))
        mapped = [*self.fields, *self.constants]
        for name in mapped:
            clash = next((other for other in mapped if other.startswith(name + ".")), None)
            if clash is not None:
                problems.append(
                    _problem(("fields", name), f"conflicts with the nested field {clash!r}", name)
                )
        for name, info in MODELS[entity].model_fields.items():
            if info.is_required() and name not in RESERVED_FIELDS | {"external_id"} and name not in mapped:
                problems.append(
                    _problem(("fields",), f"required canonical field {name!r} is not mapped", name)
                )
        for position, name in enumerate(self.relations or ()):
            if name not in self.fields:
                problems.append(
                    _problem(
                        ("relations", position), f"{name!r} is not a mapped field (map it in fields)", name
                    )
                )
        sortable = {"external_id", *self.fields, *(["updated_at"] if self.updated_at else [])}
        for term in self.order_by:
            if term.field not in sortable:
                problems.append(_problem(("order_by",), f"{term.field!r} is not a mapped field", term.field))
        return problems

    @property
    def relation_fields(self) -> frozenset[str]:
        """The fields ``find_related`` may filter on; by default every mapped ``*_external_id`` field."""
        if self.relations is not None:
            return frozenset(self.relations)
        return frozenset(name for name in self.fields if name.endswith("_external_id"))
