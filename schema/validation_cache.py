"""Validation results cached by the document's text.

strawberry's ``ValidationCache`` keys its LRU cache on the parsed document. Hashing a graphql-core document
walks its whole tree again on every request (about 20 µs for the customer 360), while the text it was parsed
from hashes in well under a microsecond. The same text under the same rules validates the same way, so the
text is the key here; a document without its text is validated every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

#: Distinct (text, rules) results kept per schema; the oldest goes first, so a flood of one-off documents
#: cannot grow it.
MAX_ENTRIES = 256


class ValidationResults:
    """One schema's validation results, by document text and validation rules."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._errors: dict[tuple[str, tuple[Any, ...]], list[GraphQLError]] = {}

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
            if len(self._errors) >= self.max_entries:
                del self._errors[next(iter(self._errors))]
            self._errors[key] = errors
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
