"""How one real-world value is spelled differently in different systems.

Real silos disagree on legal suffixes ("GmbH" / "G.m.b.H."), letter case, phone formats ("+49 30 1234567" /
"030-1234567" / "0049301234567"), country spellings and e-mail case. Each function takes a ``choice`` in
[0, 1) (drawn per record from ``silos._hashing.unit``) so the variant is deterministic.
"""

from __future__ import annotations

import re
import unicodedata

from .erp.reference import COUNTRIES, COUNTRY_BY_CODE, Country

#: Alternative spellings of a legal form; the first entry is the canonical one.
LEGAL_FORM_SPELLINGS: dict[str, tuple[str, ...]] = {
    "GmbH": ("GmbH", "G.m.b.H.", "Gmbh", "GMBH"),
    "GmbH & Co. KG": ("GmbH & Co. KG", "GmbH & Co KG", "GmbH u. Co. KG", "GmbH + Co. KG"),
    "AG": ("AG", "A.G.", "Aktiengesellschaft"),
    "KG": ("KG", "K.G.", "Kommanditgesellschaft"),
    "e.K.": ("e.K.", "eK", "e. K."),
    "OHG": ("OHG", "oHG", "O.H.G."),
    "OG": ("OG", "O.G."),
    "Sp. z o.o.": ("Sp. z o.o.", "sp. z o.o.", "Sp. z o. o.", "Spółka z o.o.", "SP Z OO"),
    "S.A.": ("S.A.", "SA", "S. A."),
    "Sp.j.": ("Sp.j.", "sp. j.", "Spółka jawna"),
    "Sp.k.": ("Sp.k.", "sp. k.", "Spółka komandytowa"),
    "SAS": ("SAS", "S.A.S.", "S.A.S"),
    "SARL": ("SARL", "S.A.R.L.", "Sàrl", "S.à r.l."),
    "SNC": ("SNC", "S.N.C."),
    "B.V.": ("B.V.", "BV", "B.V"),
    "N.V.": ("N.V.", "NV"),
    "V.O.F.": ("V.O.F.", "VOF", "vof"),
    "S.L.": ("S.L.", "SL", "S.L"),
    "S.L.U.": ("S.L.U.", "SLU"),
    "AB": ("AB", "Aktiebolag", "A.B."),
    "AB (publ)": ("AB (publ)", "AB publ", "AB (Publ)"),
    "HB": ("HB", "Handelsbolag"),
    "Oy": ("Oy", "OY", "Osakeyhtiö"),
    "Oyj": ("Oyj", "OYJ"),
    "Ky": ("Ky", "KY"),
    "Ltd": ("Ltd", "Ltd.", "Limited", "LTD"),
    "Limited": ("Limited", "Ltd", "Ltd."),
    "PLC": ("PLC", "plc", "P.L.C."),
    "LLP": ("LLP", "L.L.P."),
    "DAC": ("DAC", "D.A.C."),
    "Inc.": ("Inc.", "Inc", "Incorporated", "INC"),
    "LLC": ("LLC", "L.L.C.", "Llc"),
    "Corp.": ("Corp.", "Corp", "Corporation"),
    "Corporation": ("Corporation", "Corp.", "Corp"),
}

_COUNTRY_BY_NAME: dict[str, Country] = {country.name.lower(): country for country in COUNTRIES}


def country_of(value: str | None) -> Country | None:
    """The reference country for an ISO code or an English name, ``None`` when unknown."""
    if not value:
        return None
    return COUNTRY_BY_CODE.get(value.strip().upper()) or _COUNTRY_BY_NAME.get(value.strip().lower())


def legal_form_variant(legal_form: str | None, choice: float) -> str:
    if not legal_form:
        return ""
    spellings = LEGAL_FORM_SPELLINGS.get(legal_form, (legal_form,))
    return spellings[int(choice * len(spellings)) % len(spellings)]


def _with_form(name: str, form: str) -> str:
    return f"{name} {form}".strip() if form else name


def split_legal_form(name: str, legal_form: str | None) -> tuple[str, str | None]:
    """``("Müller Logistik GmbH", "GmbH")`` -> ``("Müller Logistik", "GmbH")``; ERP names usually carry the
    legal form already (``"King & Harris, Inc."`` too), sometimes not, and sometimes the form is unknown."""
    candidates = [legal_form] if legal_form else sorted(LEGAL_FORM_SPELLINGS, key=len, reverse=True)
    lowered = name.lower()
    for form in candidates:
        if (form and lowered.endswith(" " + form.lower())) or (form and lowered.endswith("," + form.lower())):
            return name[: -len(form)].rstrip(" ,"), form
    return name, legal_form


def company_name_variant(name: str, legal_form: str | None, style: str, choice: float) -> str:
    """``style``: ``plain`` (no legal form), ``legal`` (canonical form), ``spelled`` (another spelling of the
    form), ``upper`` (upper-case name, form as spelled), ``typo`` (one letter dropped, as typed by hand)."""
    base, form = split_legal_form(name, legal_form)
    if style == "plain":
        return base
    if style == "legal":
        return _with_form(base, form or "")
    spelled = legal_form_variant(form, choice)
    if style == "spelled":
        return _with_form(base, spelled)
    if style == "upper":
        return _with_form(base.upper(), spelled)
    if style == "typo":
        letters = [i for i, ch in enumerate(base) if ch.isalpha()]
        if len(letters) > 6:
            drop = letters[1 + int(choice * (len(letters) - 2))]
            base = base[:drop] + base[drop + 1 :]
        return _with_form(base, form or "")
    raise ValueError(f"unknown name style {style!r}")


def _national_number(phone: str, country: Country) -> str | None:
    """The national significant number (area code + subscriber) of ``phone``, or ``None`` if unparseable."""
    digits = re.sub(r"\D", "", phone.replace("(0)", ""))
    if not digits:
        return None
    cc = country.calling_code
    if phone.strip().startswith("+"):
        if not digits.startswith(cc):
            return None
        return digits[len(cc) :]
    if digits.startswith("00" + cc):
        return digits[2 + len(cc) :]
    if country.trunk_prefix and digits.startswith(country.trunk_prefix):
        return digits[len(country.trunk_prefix) :]
    if cc == "1" and len(digits) == 11 and digits.startswith("1"):
        return digits[1:]
    return digits


def _split_area(national: str, country: Country) -> tuple[str, str]:
    for subdivision in country.subdivisions:
        for city in subdivision.cities:
            if national.startswith(city.area_code) and len(national) > len(city.area_code) + 3:
                return city.area_code, national[len(city.area_code) :]
    cut = 3 if country.calling_code == "1" else 2
    return national[:cut], national[cut:]


PHONE_STYLES = ("international", "national", "e164", "idd")


def phone_variant(phone: str | None, country_code: str | None, style: str) -> str | None:
    """``phone`` in another format: ``international`` (+49 30 1234567), ``national`` (030-1234567),
    ``e164`` (+49301234567) or ``idd`` (0049301234567). Unparseable numbers come back unchanged."""
    if not phone:
        return phone
    country = country_of(country_code)
    national = _national_number(phone, country) if country else None
    if country is None or national is None:
        return phone
    cc = country.calling_code
    area, subscriber = _split_area(national, country)
    if style == "international":
        return f"+{cc} {area} {subscriber}"
    if style == "e164":
        return f"+{cc}{national}"
    if style == "idd":
        return f"00{cc}{national}" if cc != "1" else f"1-{area}-{subscriber[:3]}-{subscriber[3:]}"
    if style == "national":
        if cc == "1":
            return f"({area}) {subscriber[:3]}-{subscriber[3:]}"
        return f"{country.trunk_prefix}{area}-{subscriber}"
    raise ValueError(f"unknown phone style {style!r}")


def country_variant(country_code: str | None, choice: float) -> str | None:
    """An ISO code or the English name, as different systems store it."""
    country = country_of(country_code)
    if country is None:
        return country_code
    return country.code if choice < 0.4 else country.name


def email_case_variant(email: str | None, choice: float) -> str | None:
    """Most systems keep what was typed; a few people type their address capitalised."""
    if not email or choice >= 0.2:
        return email
    local, _, domain = email.partition("@")
    return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain


def ascii_slug(text: str) -> str:
    """``Łukasz Śmigiel`` -> ``lukasz.smigiel``-style mailbox parts."""
    replaced = (
        text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss").replace("ø", "o").replace("æ", "ae")
    )
    decomposed = unicodedata.normalize("NFKD", replaced)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "", plain.lower())


def domain_of(website: str | None, email: str | None) -> str | None:
    """A company's mail domain from its website or its general mailbox."""
    if email and "@" in email:
        return email.rsplit("@", 1)[1].lower()
    if website:
        host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/", 1)[0]
        return host.removeprefix("www.") or None
    return None
