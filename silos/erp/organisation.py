"""The ERP's sales organisation: regions, the territory hierarchy, sales reps and their managers.

It is generated from the seed alone (never from the number of companies), so a company's territory and rep
are the same at every database size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .formats import ascii_fold, phone_number
from .pools import locale_pool, pick
from .reference import COUNTRIES, INTERNAL_EMAIL_DOMAIN, REFERENCE_DATE, REGIONS, Country, Subdivision
from .rng import record_rng

Row = dict[str, Any]

_REP_TITLES = ("Account Manager", "Account Manager", "Senior Account Manager", "Key Account Manager")


@dataclass(frozen=True, slots=True)
class ChildTerritory:
    id: int
    country: Country
    subdivision: Subdivision
    #: Reps covering the territory (at least one), the first being the territory's main rep.
    rep_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Organisation:
    regions: tuple[Row, ...]
    territories: tuple[Row, ...]
    employees: tuple[Row, ...]
    employee_territories: tuple[Row, ...]
    #: Child territories (the ones customers belong to) per country code.
    children_by_country: dict[str, tuple[ChildTerritory, ...]]


class _Staff:
    """Builds employee rows; ids are handed out in creation order, managers before their reports."""

    def __init__(self, seed: int) -> None:
        self.rng = record_rng(seed, "employees", 0)
        self.rows: list[Row] = []
        self._mailboxes: set[str] = set()

    def hire(self, country: Country, title: str, reports_to: int | None, *, active: bool = True) -> int:
        rng = self.rng
        first, last = locale_pool(country.locale).person(rng)
        mailbox = base = f"{ascii_fold(first)}.{ascii_fold(last)}".lower().replace(" ", "")
        number = 1
        while mailbox in self._mailboxes:  # namesakes get a number, as mail admins do
            number += 1
            mailbox = f"{base}{number}"
        self._mailboxes.add(mailbox)
        area_code = pick(rng, country.subdivisions[0].cities).area_code
        hired_at = REFERENCE_DATE - dt.timedelta(days=rng.randrange(180, 15 * 365))
        employee_id = len(self.rows) + 1
        self.rows.append(
            {
                "id": employee_id,
                "first_name": first,
                "last_name": last,
                "email": f"{mailbox}@{INTERNAL_EMAIL_DOMAIN}",
                "phone": phone_number(rng, country, area_code),
                "title": title,
                "reports_to": reports_to,
                "hired_at": hired_at,
                "active": active,
            }
        )
        return employee_id


def build_organisation(seed: int) -> Organisation:
    regions = tuple({"id": i, "code": code, "name": name} for i, (code, name) in enumerate(REGIONS, start=1))
    region_ids = {row["code"]: row["id"] for row in regions}

    territories: list[Row] = []
    subdivision_ids: dict[str, list[tuple[int, Subdivision]]] = {}
    for country in COUNTRIES:
        parent_id = len(territories) + 1
        region_id = region_ids[country.region]
        territories.append(
            {"id": parent_id, "code": country.code, "name": country.name, "region_id": region_id,
             "parent_id": None, "country": country.code}
        )  # fmt: skip
        for subdivision in country.subdivisions:
            child_id = len(territories) + 1
            territories.append(
                {"id": child_id, "code": subdivision.code, "name": subdivision.name, "region_id": region_id,
                 "parent_id": parent_id, "country": country.code}
            )  # fmt: skip
            subdivision_ids.setdefault(country.code, []).append((child_id, subdivision))

    staff = _Staff(seed)
    head_of_sales = staff.hire(COUNTRIES[0], "Head of Sales", None)
    managers: dict[str, int] = {}
    for code, name in REGIONS:
        home = next(country for country in COUNTRIES if country.region == code)
        managers[code] = staff.hire(home, f"Sales Director {name}", head_of_sales)

    coverage: dict[int, list[int]] = {}
    for country in COUNTRIES:
        children = subdivision_ids[country.code]
        position = 0
        while position < len(children):
            title = _REP_TITLES[staff.rng.randrange(len(_REP_TITLES))]
            rep = staff.hire(country, title, managers[country.region])
            covered = 1
            # Some reps look after two neighbouring territories.
            if position + 1 < len(children) and staff.rng.random() < 0.35:
                covered = 2
            for child_id, _ in children[position : position + covered]:
                coverage.setdefault(child_id, []).append(rep)
            position += covered
        # Busy territories get a second rep.
        for child_id, _ in children:
            if staff.rng.random() < 0.2:
                coverage[child_id].append(staff.hire(country, "Account Manager", managers[country.region]))
    for code, _ in REGIONS:
        home = next(country for country in COUNTRIES if country.region == code)
        staff.hire(home, "Account Manager", managers[code], active=False)  # left the company

    children_by_country = {
        code: tuple(
            ChildTerritory(
                child_id, next(c for c in COUNTRIES if c.code == code), sub, tuple(coverage[child_id])
            )
            for child_id, sub in children
        )
        for code, children in subdivision_ids.items()
    }
    employee_territories = tuple(
        {"employee_id": rep, "territory_id": child_id}
        for child_id in sorted(coverage)
        for rep in coverage[child_id]
    )
    return Organisation(
        regions=regions,
        territories=tuple(territories),
        employees=tuple(staff.rows),
        employee_territories=employee_territories,
        children_by_country=children_by_country,
    )
