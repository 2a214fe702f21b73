"""A subset of the accounting product's SQL-like query language.

    SELECT * | COUNT(*) | field[, field...] FROM <Entity>
        [WHERE <field> (= | < | > | <= | >= | LIKE) <value> | <field> IN (<value>, ...) [AND ...]]
        [ORDERBY <field> [ASC | DESC][, ...]]
        [STARTPOSITION <n>] [MAXRESULTS <n>]

Keywords are case-insensitive, strings are single-quoted (``\\'`` escapes a quote), there is no OR (the real
language has none either), and a field list still returns whole records, as the real product does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100


class QueryError(ValueError):
    """A query that cannot be parsed (``code`` 4000) or names something that cannot be queried (4001)."""

    def __init__(self, message: str, *, code: str = "4000") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # one of = < > <= >= in like
    values: tuple[str | float | bool, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    where: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS
    fields: tuple[str, ...] = field(default=())


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)

_KEYWORDS = {"select", "from", "where", "and", "or", "in", "like", "orderby", "order", "by", "asc", "desc"}
_KEYWORDS |= {"startposition", "maxresults", "count", "true", "false", "not"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int

    @property
    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "word" and self.text.lower() in _KEYWORDS else None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        kind = match.lastgroup or "bad"
        value = match.group(kind)
        if kind == "bad":
            if value == "'":
                raise QueryError(f"Unterminated string literal at column {match.start(kind) + 1}")
            raise QueryError(f'Lexical error at column {match.start(kind) + 1}. Encountered: "{value}"')
        tokens.append(_Token(kind, value, match.start(kind) + 1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, expected: str) -> _Token:
        token = self._peek()
        if token is None:
            raise QueryError(f"Encountered end of query, was expecting {expected}")
        self.index += 1
        return token

    def _fail(self, token: _Token, expected: str) -> QueryError:
        return QueryError(f'Encountered "{token.text}" at column {token.column}, was expecting {expected}')

    def _keyword(self, *words: str) -> str:
        token = self._next(" or ".join(w.upper() for w in words))
        if token.keyword not in words:
            raise self._fail(token, " or ".join(w.upper() for w in words))
        return token.keyword

    def _at(self, *words: str) -> bool:
        token = self._peek()
        return token is not None and token.keyword in words

    def _punct(self, char: str) -> None:
        token = self._next(f'"{char}"')
        if token.text != char:
            raise self._fail(token, f'"{char}"')

    def _identifier(self, what: str) -> str:
        token = self._next(what)
        if token.kind != "word" or token.keyword is not None:
            raise self._fail(token, what)
        return token.text

    def _integer(self, what: str) -> int:
        token = self._next(what)
        if token.kind != "number" or "." in token.text or token.text.startswith("-"):
            raise self._fail(token, what)
        return int(token.text)

    def _value(self) -> str | float | bool:
        token = self._next("a value")
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text)
        if token.keyword in ("true", "false"):
            return token.keyword == "true"
        raise self._fail(token, "a quoted string, a number, true or false")

    def parse(self) -> Query:
        self._keyword("select")
        count = False
        fields: list[str] = []
        if self._at("count"):
            self._next("COUNT")
            self._punct("(")
            self._punct("*")
            self._punct(")")
            count = True
        else:
            token = self._peek()
            if token is not None and token.text == "*":
                self._next("*")
            else:
                fields.append(self._identifier('"*", COUNT(*) or a field name'))
                while (token := self._peek()) is not None and token.text == ",":
                    self._next(",")
                    fields.append(self._identifier("a field name"))
        self._keyword("from")
        entity = self._identifier("an entity name")
        where: list[Condition] = []
        order_by: list[tuple[str, bool]] = []
        start, maximum = 1, DEFAULT_MAX_RESULTS
        if self._at("where"):
            self._next("WHERE")
            where.append(self._condition())
            while self._at("and", "or"):
                token = self._next("AND")
                if token.keyword == "or":
                    raise QueryError(
                        f"OR is not supported (column {token.column}); use IN or separate queries"
                    )
                where.append(self._condition())
        if self._at("orderby", "order"):
            if self._next("ORDERBY").keyword == "order":
                self._keyword("by")
            order_by.append(self._order_item())
            while (token := self._peek()) is not None and token.text == ",":
                self._next(",")
                order_by.append(self._order_item())
        while self._at("startposition", "maxresults"):
            keyword = self._next("STARTPOSITION or MAXRESULTS").keyword
            if keyword == "startposition":
                start = self._integer("a positive integer")
                if start < 1:
                    raise QueryError("STARTPOSITION must be 1 or more", code="4001")
            else:
                maximum = self._integer("a positive integer")
                if maximum < 1:
                    raise QueryError("MAXRESULTS must be 1 or more", code="4001")
        trailing = self._peek()
        if trailing is not None:
            raise self._fail(trailing, "end of query")
        return Query(
            entity=entity,
            count=count,
            where=tuple(where),
            order_by=tuple(order_by),
            start_position=start,
            max_results=min(maximum, MAX_RESULTS),
            fields=tuple(fields),
        )

    def _condition(self) -> Condition:
        name = self._identifier("a field name")
        token = self._next("an operator")
        if token.kind == "op":
            if token.text in ("!=", "<>"):
                raise QueryError(f"Operator {token.text} is not supported (column {token.column})")
            return Condition(name, token.text, (self._value(),))
        if token.keyword == "like":
            value = self._value()
            if not isinstance(value, str):
                raise QueryError("LIKE needs a quoted string pattern", code="4001")
            return Condition(name, "like", (value,))
        if token.keyword == "in":
            self._punct("(")
            values = [self._value()]
            while (next_token := self._peek()) is not None and next_token.text == ",":
                self._next(",")
                values.append(self._value())
            self._punct(")")
            return Condition(name, "in", tuple(values))
        raise self._fail(token, "=, <, >, <=, >=, IN or LIKE")

    def _order_item(self) -> tuple[str, bool]:
        name = self._identifier("a field name")
        descending = False
        if self._at("asc", "desc"):
            descending = self._next("ASC or DESC").keyword == "desc"
        return name, descending


def parse_query(text: str) -> Query:
    """Parse one query; ``QueryError`` says what is wrong and where."""
    if not text or not text.strip():
        raise QueryError("The query is empty")
    return _Parser(text.strip()).parse()
