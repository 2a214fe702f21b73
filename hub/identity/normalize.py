"""Normalizers: one canonical spelling per real-world value, so that silos that spell it differently agree.

Every function takes the raw upstream value (``None`` and blanks allowed) and returns the normalized value,
or ``None`` when nothing usable is left. They never raise on bad input: an unparseable phone number or a
malformed e-mail address simply does not take part in matching. Being pure, those whose inputs repeat
across records (cities, countries, the same address or website in three silos) are memoized.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import phonenumbers

# -- text ------------------------------------------------------------------------------------------------

# Letters NFKD does not decompose into a base letter plus accents.
_TRANSLITERATION = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "Þ": "th",
        "\u0131": "i",  # dotless i
    }
)


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case and strip diacritics: ``"Dörschner Łódź"`` -> ``"dorschner lodz"``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


_NON_WORD = re.compile(r"[^a-z0-9&]+")
_SPACES = re.compile(r"\s+")
#: The length of a stored search text (the columns' size).
SEARCH_TEXT_LENGTH = 1000


#: How German writes its umlauts without them: "Mueller" is how many people type "Müller".
_UMLAUT_SPELLING = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def search_text(parts: Iterable[str | None]) -> str:
    """What customer and lead search look in: the distinct parts (names, e-mails, phones, tax ids), folded
    and single-spaced, so that "vazquez" finds "Vázquez" and "muller" finds "Müller"; a part with umlauts
    is kept in their spelled-out form too, so that "mueller" finds it as well."""
    spellings: list[str] = []
    for part in parts:
        if not part:
            continue
        spellings.append(search_term(part))
        spelled_out = part.translate(_UMLAUT_SPELLING)
        if spelled_out != part:
            spellings.append(search_term(spelled_out))
    return " ".join(dict.fromkeys(text for text in spellings if text))[:SEARCH_TEXT_LENGTH]


def search_term(value: str) -> str:
    """A search as typed, folded and single-spaced like ``search_text``."""
    return " ".join(fold(value).split())


def normalize_text(value: str | None) -> str | None:
    """Folded, punctuation replaced by single spaces: the generic normalizer for free text."""
    if not value:
        return None
    text = _SPACES.sub(" ", _NON_WORD.sub(" ", fold(value))).strip()
    return text or None


# -- e-mail ----------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
#: Providers that ignore dots in the mailbox name; for every other domain a dot is significant.
_DOT_BLIND_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

#: Free mailbox providers: a shared domain says nothing about which company a person works for.
WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.es",
        "yahoo.it", "ymail.com", "hotmail.com", "hotmail.co.uk", "hotmail.de", "hotmail.fr", "hotmail.es",
        "hotmail.it", "outlook.com", "outlook.de", "outlook.fr", "live.com", "live.co.uk", "live.de",
        "live.fr", "live.nl", "msn.com", "aol.com", "aol.de", "icloud.com", "me.com", "mac.com",
        "proton.me", "protonmail.com", "pm.me", "zoho.com", "mail.com", "gmx.de", "gmx.net", "gmx.at",
        "gmx.ch", "gmx.com", "web.de", "t-online.de", "freenet.de", "posteo.de", "mailbox.org",
        "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it",
        "tiscali.it", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "op.pl", "gazeta.pl", "seznam.cz",
        "btinternet.com", "sky.com", "virginmedia.com", "ziggo.nl", "kpnmail.nl", "telia.com",
        "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "naver.com", "comcast.net",
        "verizon.net", "att.net", "sbcglobal.net", "bluewin.ch", "telenet.be", "skynet.be", "eircom.net",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=262144)
def normalize_email(value: str | None) -> str | None:
    """``" Anna.Schmidt+news@Example.COM "`` -> ``"anna.schmidt@example.com"``.

    Lower-cased (mailbox names are case-insensitive in practice), ``+tags`` removed, and dots removed only
    for Gmail, the one big provider that ignores them. ``None`` for anything that is not an address.
    """
    if not value:
        return None
    text = value.strip().lower().removeprefix("mailto:").strip("<>").strip()
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    domain = domain.rstrip(".")
    local = local.split("+", 1)[0]
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _DOT_BLIND_DOMAINS:
        local = local.replace(".", "")
    if not local:
        return None
    address = f"{local}@{domain}"
    return address if _EMAIL.match(address) else None


def email_domain(value: str | None) -> str | None:
    """The domain of an e-mail address, ``None`` for webmail (it identifies no company)."""
    address = normalize_email(value)
    if address is None:
        return None
    domain = address.rsplit("@", 1)[1]
    return None if is_webmail(domain) else domain


def is_webmail(domain: str) -> bool:
    if domain in WEBMAIL_DOMAINS:
        return True
    # yahoo.co.jp, hotmail.com.br ...: the big providers' country domains.
    head = domain.split(".", 1)[0]
    return head in {"yahoo", "hotmail", "outlook", "gmx"} and domain.count(".") <= 2


# -- web -------------------------------------------------------------------------------------------------

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


@functools.lru_cache(maxsize=131072)
def website_domain(value: str | None) -> str | None:
    """``"https://www.Example.de/kontakt"`` -> ``"example.de"``."""
    if not value:
        return None
    text = _SCHEME.sub("", value.strip().lower())
    host = re.split(r"[/?#]", text, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    host = host.removeprefix("www.")
    return host if _HOST.match(host) else None


# -- countries -------------------------------------------------------------------------------------------

_COUNTRY_ALIASES = {
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "united kingdom": "GB", "usa": "US", "u s a": "US", "u s": "US",
    "united states": "US", "united states of america": "US", "america": "US", "holland": "NL",
    "the netherlands": "NL", "netherlands": "NL", "republic of ireland": "IE", "eire": "IE",
    "czechia": "CZ", "czech republic": "CZ", "deutschland": "DE", "osterreich": "AT", "schweiz": "CH",
    "suisse": "CH", "espana": "ES", "polska": "PL", "sverige": "SE", "suomi": "FI", "danmark": "DK",
    "norge": "NO", "nederland": "NL", "belgie": "BE", "belgique": "BE", "italia": "IT",
}  # fmt: skip
#: Alpha-3 codes of the countries customers most often have; others are looked up by name.
_ALPHA3 = {
    "DEU": "DE", "AUT": "AT", "CHE": "CH", "FRA": "FR", "BEL": "BE", "NLD": "NL", "LUX": "LU", "GBR": "GB",
    "IRL": "IE", "USA": "US", "CAN": "CA", "ESP": "ES", "PRT": "PT", "ITA": "IT", "POL": "PL", "CZE": "CZ",
    "SWE": "SE", "NOR": "NO", "DNK": "DK", "FIN": "FI", "ISL": "IS", "AUS": "AU", "NZL": "NZ",
}  # fmt: skip


#: Languages whose country names are recognised (libphonenumber's "aa" entry is the English name).
_NAME_LANGUAGES = ("aa", "en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "fi", "da", "cs")


@functools.cache
def _country_names() -> dict[str, str]:
    """Country name (folded, in the main European languages) -> ISO alpha-2 code."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    for code, by_language in LOCALE_DATA.items():
        for language in _NAME_LANGUAGES:
            name = by_language.get(language)
            if name and not name.startswith("*"):
                key = normalize_text(name)
                if key:
                    names.setdefault(key, code)
    names.update(_COUNTRY_ALIASES)
    return names


@functools.lru_cache(maxsize=131072)
def normalize_country(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code (``"de"``, ``"DEU"``) or a name (``"Germany"``,
    ``"Deutschland"``, ``"Allemagne"``); ``None`` when unknown."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        code = "GB" if code == "UK" else code
        return code if code in phonenumbers.SUPPORTED_REGIONS else None
    if len(text) == 3 and text.isalpha() and text.upper() in _ALPHA3:
        return _ALPHA3[text.upper()]
    key = normalize_text(text)
    return _country_names().get(key) if key else None


#: Country-code top-level domains that differ from the ISO code (``.uk``) and generic ones that mostly mean
#: a US company; used only to guess a default region for national phone numbers.
_TLD_REGION = {"uk": "GB", "com": "US", "us": "US"}


def region_from_domain(domain: str | None) -> str | None:
    if not domain:
        return None
    tld = domain.rsplit(".", 1)[-1]
    if tld in _TLD_REGION:
        return _TLD_REGION[tld]
    code = tld.upper()
    return code if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS else None


# -- phone -----------------------------------------------------------------------------------------------


_MIN_NATIONAL_DIGITS = 5
_PHONE_NOISE = re.compile(r"[\s\-./()\u00a0]+")
_DIGITS = re.compile(r"\d+")


@functools.cache
def _region_plan(region: str) -> tuple[str, str | None, frozenset[int], str | None] | None:
    """``(country code, national prefix, possible national lengths, international prefix)`` of a region
    from libphonenumber's metadata, or ``None`` when its prefixes are patterns the fast path cannot apply."""
    from phonenumbers.phonemetadata import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None:
        return None
    prefix = meta.national_prefix
    parsing = meta.national_prefix_for_parsing
    if prefix is not None and not prefix.isdigit():
        return None
    if parsing is not None and parsing != prefix and not (prefix and parsing.startswith(prefix + "|")):
        return None  # a national prefix with carrier codes or transforms: leave it to the full parser
    idd = (
        meta.international_prefix
        if meta.international_prefix and meta.international_prefix.isdigit()
        else None
    )
    return str(meta.country_code), prefix, frozenset(meta.general_desc.possible_length or ()), idd


@functools.cache
def _calling_code_plan(code: str) -> tuple[str, str | None, frozenset[int]] | None:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(code))
    if not regions:
        return None
    plan = _region_plan(regions[0])
    if plan is None:
        return None
    lengths: set[int] = set(plan[2])
    for region in regions[1:]:  # "+1" serves many regions, each with its own possible lengths
        other = _region_plan(region)
        if other is not None:
            lengths |= other[2]
    return plan[0], plan[1], frozenset(lengths)


def _fast_e164(text: str, region: str | None) -> str | None:
    """The common notations (``+49 (0)211 595 29 40``, ``0049 211...``, ``(0211) 595 29 40`` with region DE,
    ``1-217-469-4316`` with region US) turned into E.164 with libphonenumber's metadata but without its full
    parser, which is ten times slower. ``None`` means "not sure": the caller then runs the full parser."""
    international = text.startswith("+")
    cleaned = _PHONE_NOISE.sub("", text.replace("(0)", "").lstrip("+"))
    if not cleaned.isdigit():
        return None
    plan = _region_plan(region) if region else None
    if not international and cleaned.startswith("00"):
        international, cleaned = True, cleaned[2:]
    elif not international and plan is not None and plan[3] and cleaned.startswith(plan[3]):
        international, cleaned = True, cleaned[len(plan[3]) :]
    if international:
        for size in (1, 2, 3):
            code_plan = _calling_code_plan(cleaned[:size])
            if code_plan is not None:
                code, prefix, lengths = code_plan
                national = cleaned[size:]
                break
        else:
            return None
    elif plan is not None:
        code, prefix, lengths, _ = plan
        national = cleaned
    else:
        return None
    if prefix and national.startswith(prefix) and len(national) - len(prefix) in lengths:
        national = national[len(prefix) :]
    if len(national) not in lengths or len(national) < _MIN_NATIONAL_DIGITS:
        return None
    return f"+{code}{national}"


@functools.lru_cache(maxsize=131072)
def normalize_phone(value: str | None, region: str | None = None) -> str | None:
    """E.164 (``"+492115952940"``) via libphonenumber, with ``region`` (ISO alpha-2, usually the record's
    country) as the default for national notations. ``None`` for what cannot be a phone number."""
    if not value:
        return None
    text = value.strip()
    if not any(ch.isdigit() for ch in text):
        return None
    fast = _fast_e164(text, region)
    if fast is not None:
        return fast
    # "0049 ..." (international call prefix) parses without a region, as "+49 ...".
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # Short codes and extensions alone are "possible" somewhere but identify nobody.
    if len(str(number.national_number)) < _MIN_NATIONAL_DIGITS or not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- addresses -------------------------------------------------------------------------------------------

_POSTAL_NOISE = re.compile(r"[\s\-./]+")


@functools.lru_cache(maxsize=131072)
def normalize_postal_code(value: str | None, country: str | None = None) -> str | None:
    """``"r95 g2n1"`` -> ``"R95G2N1"``; ``"D-40886"`` with country DE -> ``"40886"``;
    ``"SE-410 11"`` -> ``"41011"``. Separators dropped, letters upper-cased, a leading country prefix
    removed."""
    if not value:
        return None
    text = fold(value).upper().strip()
    prefix = re.match(r"^([A-Z]{1,2})\s*-\s*(?=\d)", text)
    if prefix and (country is None or prefix.group(1) in (country, country[:1])):
        text = text[prefix.end() :]
    text = _POSTAL_NOISE.sub("", text)
    return text if text and any(ch.isdigit() for ch in text) and len(text) <= 12 else None


_STREET_WORDS = {
    "strasse": "str", "str": "str", "street": "st", "st": "st", "avenue": "ave", "av": "ave", "ave": "ave",
    "road": "rd", "rd": "rd", "boulevard": "blvd", "blvd": "blvd", "lane": "ln", "ln": "ln",
    "drive": "dr", "dr": "dr", "place": "pl", "pl": "pl", "platz": "pl", "weg": "weg", "gasse": "g",
    "ul": "", "ulica": "", "calle": "c", "c": "c", "rue": "r", "suite": "ste", "ste": "ste",
}  # fmt: skip
_STRASSE_SUFFIX = re.compile(r"(?<=[a-z])(strasse|str)\b")


@functools.lru_cache(maxsize=131072)
def normalize_street(value: str | None) -> str | None:
    """``"Kühnertstraße 90"`` -> ``"kuhnert str 90"``; ``"ul. Poznańska 149"`` -> ``"poznanska 149"``."""
    text = normalize_text(value)
    if text is None:
        return None
    text = _STRASSE_SUFFIX.sub(r" \1", text)
    words = [_STREET_WORDS.get(word, word) for word in text.split()]
    return " ".join(word for word in words if word) or None


@functools.lru_cache(maxsize=131072)
def normalize_city(value: str | None) -> str | None:
    """``"Frankfurt a. M."`` stays itself, but ``"DÜSSELDORF"`` -> ``"dusseldorf"``."""
    return normalize_text(value)


# -- tax ids ---------------------------------------------------------------------------------------------

_TAX_NOISE = re.compile(r"[^A-Z0-9]+")
#: VAT prefixes that are not the ISO code.
_VAT_PREFIX_COUNTRY = {"EL": "GR", "XI": "GB"}


@functools.lru_cache(maxsize=131072)
def normalize_tax_id(value: str | None, country: str | None = None) -> str | None:
    """``"de 375 925 718"`` or ``"375.925.718"`` (country DE) -> ``"DE375925718"``;
    ``"ATU23873679"`` stays; a US EIN ``"93-4389524"`` -> ``"US934389524"``.

    Separators removed; the VAT country prefix kept when present and added from ``country`` when absent,
    so a number with and without its prefix compares equal.
    """
    if not value:
        return None
    text = _TAX_NOISE.sub("", fold(value).upper())
    if len(text) < 4:
        return None
    head = text[:2]
    if head.isalpha():
        iso = _VAT_PREFIX_COUNTRY.get(head, head)
        if iso in phonenumbers.SUPPORTED_REGIONS:
            return iso + text[2:]
        return text
    return f"{country}{text}" if country else text
