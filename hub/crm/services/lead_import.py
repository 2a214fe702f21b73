"""Bulk import of leads from CSV: every row is validated first, and either all rows are imported in one
transaction or none is (``dry_run`` only validates). Problems are reported per row and field."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from hub.context import RequestContext
from hub.errors import HubError

from ..errors import ValidationError, api_field
from ..models import Lead, SalesRep, Territory
from ..validation import email as clean_email
from ..validation import text
from ..versioning import write_transaction
from .leads import CREATE_FIELDS, _check_money_currency, _derived, insert_lead

MAX_CSV_CHARS = 5_000_000
MAX_ROWS = 10_000
MAX_ERRORS = 500
#: Columns that name related records the way a spreadsheet would (not by id).
LOOKUP_COLUMNS = ("owner_email", "territory")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
#: What the csv module's terse errors usually mean in a file a person wrote or exported.
_CSV_HINTS = {
    "unexpected end of data": " (a quoted cell is never closed)",
    "',' expected after '\"'": ' (a quote inside a quoted cell must be doubled: "")',
}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 1-based data row (the header is row 0)
    field: str | None
    code: str
    message: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    imported: list[Lead] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _column_key(header: str) -> str:
    return "_".join(_CAMEL.sub("_", header.strip()).replace("-", " ").replace("_", " ").lower().split())


def _parse(csv_text: str, report: ImportReport) -> tuple[list[str], list[dict[str, str]]]:
    if len(csv_text) > MAX_CSV_CHARS:
        raise ValidationError(f"the CSV is larger than {MAX_CSV_CHARS:,} characters", field="csv")
    if "\x00" in csv_text:
        raise ValidationError("the CSV contains NUL characters; is it a binary file?", field="csv")
    # Strict: a lenient reader takes a quote that is never closed to the end of the file, so every row
    # after it would silently become part of one cell, and a stray quote would be dropped from a value.
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")), strict=True)
    complete_lines = 0
    try:
        header = next(reader, None)
        complete_lines = reader.line_num  # a row that fails to parse starts on the line after
        if not header or not any(cell.strip() for cell in header):
            raise ValidationError("the CSV is empty: the first line must name the columns", field="csv")
        columns = [_column_key(cell) for cell in header]
        known = set(CREATE_FIELDS) - {"owner_id", "territory_id", "status"} | set(LOOKUP_COLUMNS)
        for position, column in enumerate(columns):
            if column and column not in known:
                report.errors.append(
                    RowError(
                        0, header[position].strip(), "UNKNOWN_COLUMN", f"unknown column {header[position]!r}"
                    )
                )
        if len(set(columns)) != len(columns):
            report.errors.append(
                RowError(0, None, "DUPLICATE_COLUMN", "a column appears twice in the header")
            )
        if "name" not in columns:
            report.errors.append(RowError(0, "name", "MISSING_COLUMN", "the CSV needs a 'name' column"))
        rows = []
        for number, cells in enumerate(reader, start=1):
            complete_lines = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if number > MAX_ROWS:
                raise ValidationError(f"the CSV has more than {MAX_ROWS:,} rows", field="csv")
            if len(cells) > len(columns):
                report.errors.append(
                    RowError(
                        number, None, "TOO_MANY_CELLS", f"{len(cells)} cells, but {len(columns)} columns"
                    )
                )
            rows.append({"#": str(number), **{c: v for c, v in zip(columns, cells, strict=False) if c}})
    except csv.Error as exc:
        hint = _CSV_HINTS.get(str(exc), "")
        raise ValidationError(
            f"the CSV cannot be read in the row starting at line {complete_lines + 1}: {exc}{hint}",
            field="csv",
        ) from None
    return columns, rows


def _clean_row(row: dict[str, str], number: int, report: ImportReport) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    failed = False
    for column, raw in row.items():
        if column == "#" or column in LOOKUP_COLUMNS or column not in CREATE_FIELDS:
            continue
        spec = CREATE_FIELDS[column]
        try:
            values[spec.column or column] = spec.cleaner(raw if raw.strip() else None, column)
        except HubError as exc:
            report.errors.append(RowError(number, exc.field, exc.code, exc.message))
            failed = True
    if values.get("name") is None and not any(e.row == number and e.field == "name" for e in report.errors):
        report.errors.append(RowError(number, "name", "BAD_USER_INPUT", "name is required"))
        failed = True
    try:
        _check_money_currency(values)
    except HubError as exc:
        report.errors.append(RowError(number, exc.field, exc.code, exc.message))
        failed = True
    if failed:
        return None
    values["source"] = values.get("source") or "import"
    values["status"] = "New"
    return {**{k: v for k, v in values.items() if v is not None}, **_derived(values)}


async def _lookups(
    ctx: RequestContext, owner_emails: set[str], territory_names: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Active reps by email and territories by lower-cased name, for the rows that name them."""
    rep_ids: dict[str, str] = {}
    territory_ids: dict[str, str] = {}
    async with ctx.hub.db.session() as session:
        if owner_emails:
            reps = await session.execute(
                select(SalesRep.email, SalesRep.id).where(SalesRep.email.in_(owner_emails), SalesRep.active)
            )
            rep_ids = {email: rep_id for email, rep_id in reps}
        if territory_names:
            lowered = {name.lower() for name in territory_names}
            found = await session.execute(
                select(func.lower(Territory.name), Territory.id).where(
                    func.lower(Territory.name).in_(lowered)
                )
            )
            territory_ids = {name: territory_id for name, territory_id in found}
    return rep_ids, territory_ids


async def import_leads(ctx: RequestContext, *, csv_text: str, dry_run: bool = False) -> ImportReport:
    """Validate every row; import all of them (or, with ``dry_run`` or any error, none)."""
    if not isinstance(csv_text, str):
        raise ValidationError("csv must be text", field="csv")
    report = ImportReport(dry_run=dry_run)
    _columns, rows = _parse(csv_text, report)
    report.rows = len(rows)
    if not rows and not report.errors:
        raise ValidationError("the CSV has a header but no rows", field="csv")
    cleaned: list[tuple[int, dict[str, Any]]] = []
    owners: dict[int, str] = {}
    territories: dict[int, str] = {}
    for row in rows:
        number = int(row["#"])
        values = _clean_row(row, number, report)
        try:
            owner = clean_email(row.get("owner_email") or None, "owner_email")
            territory = text(200)(row.get("territory") or None, "territory")
        except HubError as exc:
            report.errors.append(RowError(number, exc.field, exc.code, exc.message))
            continue
        if owner:
            owners[number] = owner
        if territory:
            territories[number] = territory
        if values is not None:
            cleaned.append((number, values))
    rep_ids, territory_ids = await _lookups(ctx, set(owners.values()), set(territories.values()))
    for number, owner in owners.items():
        if owner not in rep_ids:
            report.errors.append(
                RowError(number, "ownerEmail", "NOT_FOUND", f"no active sales rep with email {owner}")
            )
    for number, territory in territories.items():
        if territory.lower() not in territory_ids:
            report.errors.append(
                RowError(number, "territory", "NOT_FOUND", f"no territory named {territory!r}")
            )
    report.errors.sort(key=lambda e: (e.row, e.field or ""))
    report.errors = [
        RowError(e.row, api_field(e.field) if e.field and "_" in e.field else e.field, e.code, e.message)
        for e in report.errors[:MAX_ERRORS]
    ]
    if report.errors or dry_run:
        return report
    async with write_transaction(ctx) as session:
        for number, values in cleaned:
            if number in owners:
                values["owner_id"] = rep_ids[owners[number]]
            if number in territories:
                values["territory_id"] = territory_ids[territories[number].lower()]
            report.imported.append(await insert_lead(session, values, actor=ctx.actor))
    return report
