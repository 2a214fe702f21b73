"""Endpoint declarations: where an entity's records live upstream and how to read them in batches."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import MalformedResponseError
from ..mapping import EntityMapping
from ..types import RawRecord
from .http import PageRequest
from .paginators import Paginator, SinglePage

_MISSING = object()


class BatchLookup(ABC):
    """How to ask the upstream for the records matching a batch of values in one request per chunk.

    ``path`` (which may hold ``{config_field}`` placeholders) replaces the endpoint's path for lookups
    (``/users/show_many``); with its own path the lookup sends its own ``params`` only, otherwise the
    endpoint's params too. ``paginator`` reads the lookup's answer: ``None`` means the endpoint's own
    paginator, ``SinglePage()`` an answer that always comes whole (``show_many`` style). ``record_path``
    is where the records sit in the lookup's answer when it differs from the endpoint's (a search
    endpoint answering ``results`` for a collection listed as ``users``); ``None`` means the endpoint's.
    ``value_pattern`` (a regular expression) says what a key or value can look like upstream: values that
    do not match it are answered as unknown without being sent (an upstream refusing a whole batch of
    numeric ids because one of them is ``"abc"``).
    """

    chunk_size: int
    path: str | None
    params: Mapping[str, str]
    paginator: Paginator | None
    record_path: str | None = None
    value_pattern: str | None = None

    def accepts(self, value: str) -> bool:
        """Whether ``value`` can exist upstream, by ``value_pattern``."""
        return self.value_pattern is None or re.fullmatch(self.value_pattern, value) is not None

    @abstractmethod
    def build(self, base: PageRequest, values: Sequence[str]) -> PageRequest:
        """``base`` narrowed to the records matching ``values`` (at most ``chunk_size`` of them)."""


@dataclass(frozen=True)
class ParamBatch(BatchLookup):
    """The batch travels in one query parameter.

    - id lists: ``ParamBatch("ids")`` sends ``?ids=1,2,3`` (Zendesk ``show_many``);
    - repeated parameters: ``ParamBatch("id", repeat=True)`` sends ``?id=1&id=2``;
    - query languages: ``ParamBatch("query", template="select * from Invoice where CustomerRef in
      ({items})", item_template="'{value}'", escape={"'": "\\\\'"})`` sends ``... in ('1','2')``;
    - search syntaxes: ``ParamBatch("query", template="type:ticket {items}",
      item_template="organization:{value}", separator=" ")``.
    """

    param: str
    chunk_size: int = 100
    separator: str = ","
    item_template: str = "{value}"
    template: str = "{items}"
    escape: Mapping[str, str] = field(default_factory=dict)
    repeat: bool = False
    path: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    paginator: Paginator | None = None
    record_path: str | None = None
    value_pattern: str | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if self.value_pattern is not None:
            try:
                re.compile(self.value_pattern)
            except re.error as exc:
                raise ValueError(f"value_pattern is not a regular expression: {exc}") from None
        if "{items}" not in self.template:
            raise ValueError("template must contain {items}")
        if "{value}" not in self.item_template:
            raise ValueError("item_template must contain {value}")

    def _item(self, value: str) -> str:
        for char, replacement in self.escape.items():
            value = value.replace(char, replacement)
        return self.item_template.replace("{value}", value)

    def build(self, base: PageRequest, values: Sequence[str]) -> PageRequest:
        items = [self._item(value) for value in values]
        if self.repeat:
            return base.with_params(**{self.param: items})
        # str.replace, not format: query-language templates are full of braces and quotes.
        return base.with_params(**{self.param: self.template.replace("{items}", self.separator.join(items))})


@dataclass(frozen=True)
class Endpoint:
    """One entity's collection upstream.

    ``path`` may contain ``{config_field}`` placeholders (a realm id, a list id), filled from the config.
    ``record_path`` is the dotted path of the record list in the JSON body (``QueryResponse.Customer``,
    ``data``); empty when the body is the list itself. ``get_many`` and ``related`` (keyed by canonical
    relation field) declare the batch lookups; without them the adapter must override the matching
    ``build_*_request`` method or the read is unsupported. ``since_param`` sends the ``since`` of an
    incremental scan as an ISO-8601 parameter. ``empty_when_missing`` is for upstreams that omit the
    record list when it is empty (QuickBooks); otherwise a missing record path is a malformed answer.
    """

    path: str
    mapping: EntityMapping
    record_path: str | None = None
    paginator: Paginator = field(default_factory=SinglePage)
    params: Mapping[str, str] = field(default_factory=dict)
    get_many: BatchLookup | None = None
    related: Mapping[str, BatchLookup] = field(default_factory=dict)
    since_param: str | None = None
    empty_when_missing: bool = False
    max_pages: int | None = None

    def __post_init__(self) -> None:
        entity = self.mapping.entity.value
        for by_field in self.related:
            if by_field not in self.mapping.relations:
                raise ValueError(
                    f"endpoint for {entity!r}: related lookup by {by_field!r}, which the mapping does not "
                    f"declare as a relation (relations: {sorted(self.mapping.relations)})"
                )
        if self.max_pages is not None and self.max_pages < 1:
            raise ValueError(f"endpoint for {entity!r}: max_pages must be at least 1")

    def base_request(self, path: str) -> PageRequest:
        return PageRequest(path, dict(self.params))

    def extract_records(self, body: Any) -> list[RawRecord]:
        """The records of one decoded page; raises ``MalformedResponseError`` when they are not there."""
        value = _find(body, self.record_path)
        where = f"record path {self.record_path!r}" if self.record_path else "the body"
        if value is _MISSING:
            if self.empty_when_missing:
                return []
            raise MalformedResponseError(f"the answer has no {where}", entity=self.mapping.entity.value)
        if not isinstance(value, list):
            raise MalformedResponseError(
                f"{where} holds {type(value).__name__}, not a list of records",
                entity=self.mapping.entity.value,
            )
        for item in value:
            if not isinstance(item, Mapping):
                raise MalformedResponseError(
                    f"{where} holds a {type(item).__name__} where a record object was expected",
                    entity=self.mapping.entity.value,
                )
        return value


def _find(body: Any, path: str | None) -> Any:
    """Like ``read_json`` but tells a missing step (``_MISSING``) from an explicit ``null``."""
    if not path:
        return body
    value = body
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return _MISSING
        value = value[step]
    return value
