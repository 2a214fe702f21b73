"""Search over a stored search text (``hub.identity.normalize.search_text``: folded, single-spaced): the
term is folded the same way, so case, accents and spacing never decide whether a row is found."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from ..errors import InvalidInputError
from ..identity.normalize import search_term

#: The longest search term, folded.
MAX_TERM_LENGTH = 200
_ESCAPE = "\\"


def search_condition(term: str | None, column: InstrumentedAttribute[str]) -> ColumnElement[bool] | None:
    """Rows whose search text contains ``term``; ``None`` (no condition) for a missing or blank term."""
    if term is None:
        return None
    folded = search_term(term)
    if len(folded) > MAX_TERM_LENGTH:
        raise InvalidInputError(f"`search` must be at most {MAX_TERM_LENGTH} characters", field="search")
    if not folded:
        return None
    escaped = folded.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    return column.like(f"%{escaped}%", escape=_ESCAPE)
