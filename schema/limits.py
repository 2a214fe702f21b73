"""Limits on what one GraphQL document may ask for, checked before anything executes: depth, aliases,
tokens, page sizes and cost. A document over a limit is a request error (no ``data``; 400 for
``application/graphql-response+json`` clients) with a message naming the limit and an
``extensions.code``.

Cost counts the objects a query could return at most: a field returning an object costs one per parent
object, a field with a ``first`` argument multiplies what is below it by that ``first`` (its default when
absent), and other lists by ``assumed_list_size``. ``customers(first: 100) { edges { node { orders(first:
50) { ... } } } }`` thus counts 100 customers x 50 orders. Fragments are costed once per type and scaled,
so the check stays linear in the size of the document however fragments are nested.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

from hub.config import GraphQLConfig
from hub.crm.services.activities import MAX_QUEUE
from hub.security.config import LimitsConfig

from .validation_cache import FirstInFirstOut

#: Fields whose ``first`` has its own maximum instead of ``graphql.max_page_size``.
PAGE_LIMITS: dict[tuple[str, str], int] = {("Query", "callQueue"): MAX_QUEUE}


class LimitExceeded(Exception):
    def __init__(self, message: str, extensions: dict[str, Any]) -> None:
        super().__init__(message)
        self.extensions = extensions


def _operations(document: Any) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _fragments(document: Any) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _field_definition(parent: Any, name: str, schema: GraphQLSchema) -> GraphQLField | None:
    if name == "__schema" and parent is schema.query_type:
        return SchemaMetaFieldDef
    if name == "__type" and parent is schema.query_type:
        return TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


# -- depth and aliases (document-only: ordinary validation rules, cached with the document) ------------


def depth_rule(max_depth: int) -> type[ValidationRule]:
    class MaxDepth(ValidationRule):
        def enter_document(self, node: Any, *_args: Any) -> None:
            fragments = _fragments(node)

            @functools.cache
            def fragment_depth(name: str) -> int:
                fragment = fragments.get(name)
                return depth(fragment.selection_set, frozenset({name})) if fragment else 0

            def depth(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
                deepest = 0
                for selection in selection_set.selections if selection_set else ():
                    if isinstance(selection, FieldNode):
                        deepest = max(deepest, 1 + depth(selection.selection_set, seen))
                    elif isinstance(selection, InlineFragmentNode):
                        deepest = max(deepest, depth(selection.selection_set, seen))
                    elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                        deepest = max(deepest, fragment_depth(selection.name.value))
                return deepest

            for operation in _operations(node):
                found = depth(operation.selection_set, frozenset())
                if found > max_depth:
                    name = f"operation {operation.name.value!r}" if operation.name else "the operation"
                    self.report_error(
                        GraphQLError(
                            f"{name} is {found} levels deep; at most {max_depth} are allowed",
                            operation,
                            extensions={"code": "QUERY_TOO_DEEP", "limit": max_depth},
                        )
                    )

    return MaxDepth


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    class MaxAliases(ValidationRule):
        def enter_document(self, node: Any, *_args: Any) -> None:
            fragments = _fragments(node)

            @functools.cache
            def fragment_aliases(name: str) -> int:
                fragment = fragments.get(name)
                return count(fragment.selection_set, frozenset({name})) if fragment else 0

            def count(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
                total = 0
                for selection in selection_set.selections if selection_set else ():
                    if isinstance(selection, FieldNode):
                        total += (1 if selection.alias else 0) + count(selection.selection_set, seen)
                    elif isinstance(selection, InlineFragmentNode):
                        total += count(selection.selection_set, seen)
                    elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                        total += fragment_aliases(selection.name.value)
                    if total > max_aliases:
                        return total
                return total

            for operation in _operations(node):
                found = count(operation.selection_set, frozenset())
                if found > max_aliases:
                    self.report_error(
                        GraphQLError(
                            f"the operation uses more than {max_aliases} aliases",
                            operation,
                            extensions={"code": "TOO_MANY_ALIASES", "limit": max_aliases},
                        )
                    )

    return MaxAliases


# -- page sizes and cost (they depend on the variables, so they run for every request) ------------------


def _size_variables(variables: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    """The variables costing can read: page sizes are integers (``_Coster._argument``)."""
    return tuple(
        sorted((k, v) for k, v in variables.items() if isinstance(v, int) and not isinstance(v, bool))
    )


class CostOutcomes(FirstInFirstOut[tuple[Any, ...], LimitExceeded | None]):
    """Costing outcomes (``None`` when within the limits, else the ``LimitExceeded``) by document text,
    operation name and integer variables, all that a cost depends on: the customer 360 is costed once, not
    on every request."""


class QueryCost(SchemaExtension):
    def __init__(self, *, limits: LimitsConfig, graphql: GraphQLConfig, outcomes: CostOutcomes) -> None:
        super().__init__()
        self.limits = limits
        self.graphql = graphql
        self.outcomes = outcomes

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        # After the (cached) standard validation: only a valid document is costed.
        if not context.pre_execution_errors and context.graphql_document is not None:
            exceeded = self._outcome(context.graphql_document, context.query, context.variables or {})
            if exceeded is not None:
                context.pre_execution_errors = [GraphQLError(str(exceeded), extensions=exceeded.extensions)]
        yield

    def _outcome(self, document: Any, text: str | None, variables: Mapping[str, Any]) -> LimitExceeded | None:
        operation = self.execution_context.operation_name
        key = None if text is None else (text, operation, _size_variables(variables))
        if key is not None and key in self.outcomes:
            return self.outcomes[key]
        outcome: LimitExceeded | None = None
        try:
            self._check(self.execution_context.schema._schema, document, variables)
        except LimitExceeded as exc:
            outcome = exc
        if key is not None:
            self.outcomes.store(key, outcome)
        return outcome

    def _check(self, schema: GraphQLSchema, document: Any, variables: Mapping[str, Any]) -> None:
        operations = _operations(document)
        name = self.execution_context.operation_name
        chosen = [o for o in operations if (o.name.value if o.name else None) == name] if name else operations
        if len(chosen) != 1:
            return  # graphql-core reports the missing or ambiguous operation
        operation = chosen[0]
        root = {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }[operation.operation]
        if root is None:
            return
        cost = _Coster(schema, _fragments(document), variables, self.limits, self.graphql)
        total = cost.unit_cost(operation.selection_set, root, paged=False)
        if total > self.limits.max_cost:
            raise LimitExceeded(
                f"the query could return up to {total} objects; at most {self.limits.max_cost} are allowed: "
                "ask for smaller pages (`first`) or fewer nested lists",
                {"code": "QUERY_TOO_COSTLY", "cost": total, "limit": self.limits.max_cost},
            )


class _Coster:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: LimitsConfig,
        graphql: GraphQLConfig,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self.graphql = graphql
        self._memo: dict[tuple[str, str, bool], int] = {}
        self._active: set[str] = set()

    def unit_cost(self, selection_set: SelectionSetNode | None, parent: Any, *, paged: bool) -> int:
        """Objects below one ``parent`` object; capped just over the limit so huge costs stay cheap."""
        total = 0
        cap = self.limits.max_cost + 1
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent, paged)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.unit_cost(selection.selection_set, target or parent, paged=paged)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_cost(selection.name.value, parent, paged)
            if total >= cap:
                return cap
        return total

    def _fragment_cost(self, name: str, parent: Any, paged: bool) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self._active:
            return 0
        target = self.schema.get_type(fragment.type_condition.name.value) or parent
        key = (name, getattr(parent, "name", ""), paged)
        if key not in self._memo:
            self._active.add(name)
            try:
                self._memo[key] = self.unit_cost(fragment.selection_set, target, paged=paged)
            finally:
                self._active.discard(name)
        return self._memo[key]

    def _field_cost(self, node: FieldNode, parent: Any, paged: bool) -> int:
        definition = _field_definition(parent, node.name.value, self.schema)
        if definition is None:
            return 0
        named: GraphQLNamedType = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        size, pages = self._size(node, definition, parent, paged)
        below = self.unit_cost(node.selection_set, named, paged=pages)
        return size * (1 + below)

    def _size(self, node: FieldNode, definition: GraphQLField, parent: Any, paged: bool) -> tuple[int, bool]:
        """How many objects the field yields per parent, and whether it pages the lists directly below."""
        if "first" in definition.args:
            first = self._argument(node, "first")
            if first is None:
                default = definition.args["first"].default_value
                first = default if isinstance(default, int) else self.graphql.default_page_size
            parent_name = getattr(parent, "name", "")
            limit = PAGE_LIMITS.get((parent_name, node.name.value), self.graphql.max_page_size)
            if first < 0:
                raise LimitExceeded(
                    "`first` must not be negative", {"code": "BAD_USER_INPUT", "field": "first"}
                )
            if first > limit:
                raise LimitExceeded(
                    f"`first` must be at most {limit} ({parent_name}.{node.name.value})",
                    {"code": "BAD_USER_INPUT", "field": "first"},
                )
            return max(first, 1), True
        field_type = definition.type.of_type if is_non_null_type(definition.type) else definition.type
        if is_list_type(field_type):
            return (1 if paged else self.limits.assumed_list_size), False
        return 1, False

    def _argument(self, node: FieldNode, name: str) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                return given if isinstance(given, int) and not isinstance(given, bool) else None
        return None


@dataclass(frozen=True, slots=True)
class LimitExtensions:
    """Schema extension factories, by where they must sit relative to parsing and validation."""

    #: Before the document is parsed (the token limit is a parser option).
    before_parsing: list[Any]
    #: Before the (cached) validation runs: depth, aliases, introspection.
    validation: list[Any]
    #: After validation: page sizes and cost depend on the variables, so they run for every request.
    after_validation: list[Any]


def limit_extensions(limits: LimitsConfig, graphql: GraphQLConfig, *, introspection: bool) -> LimitExtensions:
    """The schema extensions enforcing ``limits``."""
    rules: list[Any] = [depth_rule(limits.max_depth), alias_rule(limits.max_aliases)]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return LimitExtensions(
        before_parsing=[functools.partial(MaxTokensLimiter, max_token_count=limits.max_tokens)],
        validation=[functools.partial(AddValidationRules, rules)],
        after_validation=[
            functools.partial(QueryCost, limits=limits, graphql=graphql, outcomes=CostOutcomes())
        ],
    )
