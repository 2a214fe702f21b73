"""Country-specific formats of generated values: postal codes, phone numbers, VAT numbers, e-mail addresses.

Upstream data is messy in the way real ERPs are: the same country's phone numbers come in several
notations and some VAT numbers lack their country prefix. Identity resolution downstream has to cope.
All functions draw only from the ``random.Random`` they are given.
"""

from __future__ import annotations

import random
import re
import unicodedata

from .reference import Country

_LETTERS = "ABCDEFGHJKLMNPRSTUVWXY"  # postal codes avoid easily confused letters
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_TRANSLITERATION = str.maketrans(
    {"ß": "ss", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "đ": "d", "Đ": "D", "'": ""}
)


def digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count) if count > 0 else ""


def postal_code(rng: random.Random, pattern: str) -> str:
    """Fill ``#`` with digits and ``?`` with capital letters."""
    out = []
    for char in pattern:
        if char == "#":
            out.append(str(rng.randrange(10)))
        elif char == "?":
            out.append(_LETTERS[rng.randrange(len(_LETTERS))])
        else:
            out.append(char)
    return "".join(out)


def ascii_fold(text: str) -> str:
    """``"Łukasz Müller"`` -> ``"Lukasz Muller"``: what people type into mail addresses."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def slug(text: str) -> str:
    return _NOT_ALNUM.sub("-", ascii_fold(text).lower()).strip("-")


def _group_subscriber(country: Country, number: str) -> str:
    if country.code in ("GB", "IE", "NL", "US"):
        return f"{number[:-4]} {number[-4:]}"
    head = 3 if len(number) % 2 else 2
    pairs = [number[i : i + 2] for i in range(head, len(number), 2)]
    return " ".join([number[:head], *pairs])


def phone_number(rng: random.Random, country: Country, area_code: str) -> str:
    """A phone number in one of the notations people of ``country`` actually write."""
    subscriber_digits = country.national_digits - len(area_code)
    subscriber = str(rng.randrange(2, 10)) + digits(rng, subscriber_digits - 1)
    cc, trunk = country.calling_code, country.trunk_prefix
    style = rng.randrange(6)
    if country.code == "US":
        line, rest = subscriber[:3], subscriber[3:]
        return (
            f"({area_code}) {line}-{rest}",
            f"{area_code}-{line}-{rest}",
            f"+1 {area_code} {line} {rest}",
            f"{area_code}.{line}.{rest}",
            f"1-{area_code}-{line}-{rest}",
            f"({area_code}) {line}-{rest}",
        )[style]
    if country.code == "FR":
        national = area_code + subscriber
        pairs = [national[i : i + 2] for i in range(1, len(national), 2)]
        return (
            f"0{national[0]} {' '.join(pairs)}",
            f"+33 {national[0]} {' '.join(pairs)}",
            f"0{national[0]}.{'.'.join(pairs)}",
            f"0{national}",
            f"+33 (0){national[0]} {' '.join(pairs)}",
            f"0{national[0]} {' '.join(pairs)}",
        )[style]
    grouped = _group_subscriber(country, subscriber)
    separator = "/" if country.language == "de" else "-"
    if style == 0:
        return f"+{cc} {area_code} {grouped}"
    if style == 1:
        return f"{trunk}{area_code} {grouped}"
    if style == 2:
        return f"{trunk}{area_code}{separator}{subscriber}"
    if style == 3 and trunk:
        return f"+{cc} ({trunk}){area_code} {subscriber}"
    if style == 4:
        return f"00{cc}{area_code}{subscriber}"
    return f"({trunk}{area_code}) {grouped}"


def _polish_nip(rng: random.Random) -> str:
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    while True:
        body = str(rng.randrange(1, 10)) + digits(rng, 8)
        check = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
        if check != 10:  # such a NIP does not exist; draw again
            return body + str(check)


def vat_number(rng: random.Random, country: Country, legal_form: str | None) -> str:
    """A tax identifier in the country's usual (VAT) notation, occasionally written the sloppy way."""
    sloppy = rng.random() < 0.12
    code = country.code
    if code == "DE":
        number = str(rng.randrange(1, 10)) + digits(rng, 8)
        return f"DE {number[:3]} {number[3:6]} {number[6:]}" if sloppy else f"DE{number}"
    if code == "AT":
        return f"ATU{digits(rng, 8)}"
    if code == "PL":
        nip = _polish_nip(rng)
        return f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}" if sloppy else f"PL{nip}"
    if code == "FR":
        siren = rng.randrange(100_000_000, 1_000_000_000)
        key = (12 + 3 * (siren % 97)) % 97
        return f"FR {key:02d} {siren}" if sloppy else f"FR{key:02d}{siren}"
    if code == "NL":
        return f"NL{rng.randrange(1, 10)}{digits(rng, 8)}B{rng.randrange(1, 20):02d}"
    if code == "ES":
        letter = "A" if legal_form == "S.A." else "B"
        return f"ES{letter}{digits(rng, 8)}"
    if code == "SE":
        return f"SE55{digits(rng, 8)}01"
    if code == "FI":
        return f"FI{digits(rng, 8)}"
    if code == "GB":
        number = str(rng.randrange(1, 10)) + digits(rng, 8)
        return f"GB {number[:3]} {number[3:7]} {number[7:]}" if sloppy else f"GB{number}"
    if code == "IE":
        return f"IE{rng.randrange(1, 10)}{digits(rng, 6)}{_LETTERS[rng.randrange(len(_LETTERS))]}"
    # The United States has no VAT; ERPs store the federal EIN instead.
    return f"{rng.randrange(10, 99)}-{digits(rng, 7)}"


def person_mailbox(rng: random.Random, first_name: str, last_name: str) -> str:
    """The local part of a person's work address: ``jan.kowalski``, ``j.kowalski``, ``jkowalski``..."""
    first = slug(first_name).replace("-", "")
    last = slug(last_name).replace("-", "")
    style = rng.randrange(10)
    if style < 5:
        return f"{first}.{last}"
    if style < 7:
        return f"{first[:1]}.{last}"
    if style < 9:
        return f"{first[:1]}{last}"
    return first
