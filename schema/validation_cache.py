"""Validation results cached by the document's text.

strawberry's ``ValidationCache`` keys its LRU cache on the parsed document. Hashing a graphql-core document
walks its whole tree again on every request (about 20 µs for the customer 360), while the text it was parsed
from hashes in well under a microsecond. The same text under the same rules validates the same way, so the
text is the key here; a document without its text is validated every time.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

#: Distinct documents whose outcome is kept per schema; the oldest goes first, so a flood of one-off
#: documents cannot grow it.
MAX_ENTRIES = 256

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FirstInFirstOut(dict[K, V], Generic[K, V]):
    """A dict of at most ``max_entries``: storing one more drops the oldest."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        super().__init__()
        self.max_entries = max_entries

    def store(self, key: K, value: V) -> None:
        if key not in self and len(self) >= self.max_entries:
            del self[next(iter(self))]
        self[key] = value


class ValidationResults:
    """One schema's validation results, by document text and validation rules."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._errors: FirstInFirstOut[tuple[str, tuple[Any, ...]], list[GraphQLError]] = FirstInFirstOut(
            max_entries
        )

    def __len__(self) -> int:
        return len(self._errors)

    def validate(
        self, schema: GraphQLSchema, document: DocumentNode, text: str | None, rules: tuple[Any, ...]
    ) -> list[GraphQLError]:
        if text is None:
            return validate_document(schema, document, rules)
        key = (text, rules)
        errors = self._errors.get(key)
        if errors is None:
            errors = validate_document(schema, document, rules)
            self._errors.store(key, errors)
        return errors


class TextValidationCache(SchemaExtension):
    """Validation through ``results``, shared by every request of one schema (pass it with a partial)."""

    def __init__(self, *, results: ValidationResults) -> None:
        super().__init__()
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            context.pre_execution_errors = self.results.validate(
                context.schema._schema, context.graphql_document, context.query, context.validation_rules
            )
        yield
