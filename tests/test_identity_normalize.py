"""Normalizers on the hard cases silos produce: legal forms of many countries, phone notations, e-mail
quirks, VAT prefixes, postal-code prefixes, country names."""

from __future__ import annotations

import phonenumbers
import pytest

from hub.identity.company_names import legal_form, normalize_company_name
from hub.identity.normalize import (
    email_domain,
    fold,
    normalize_country,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    normalize_street,
    normalize_tax_id,
    region_from_domain,
    website_domain,
)
from silos.variants import LEGAL_FORM_SPELLINGS, PHONE_STYLES, phone_variant

# -- e-mail ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Maria.Anders@Alfreds.DE ", "maria.anders@alfreds.de"),
        ("maria.anders+newsletter@alfreds.de", "maria.anders@alfreds.de"),
        ("Maria.Anders+x+y@alfreds.de", "maria.anders@alfreds.de"),
        ("m.a.r.i.a@gmail.com", "maria@gmail.com"),
        ("M.Aria+spam@GoogleMail.com", "maria@gmail.com"),
        # Dots are significant everywhere but Gmail.
        ("m.aria@outlook.com", "m.aria@outlook.com"),
        ("mailto:info@example.de", "info@example.de"),
        ("<info@example.de>", "info@example.de"),
    ],
)
def test_email_normalization(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "no-at-sign", "a@b@c.de", "@example.de", "x@localhost", "+tag@x.de"]
)
def test_email_rejects_what_is_no_address(raw: str | None) -> None:
    assert normalize_email(raw) is None


def test_email_domain_excludes_webmail() -> None:
    assert email_domain("Sales@Example.co.uk") == "example.co.uk"
    assert email_domain("someone@gmail.com") is None
    assert email_domain("someone@yahoo.co.jp") is None
    assert email_domain("someone@gmx.de") is None
    assert email_domain("not an address") is None


# -- phone -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(0211) 595 29 40", "DE", "+492115952940"),
        ("+49 (0)211 595 29 40", "DE", "+492115952940"),
        ("+49 (0)211 595 29 40", None, "+492115952940"),
        ("0049 211 5952940", None, "+492115952940"),
        ("0049-211-5952940", "FR", "+492115952940"),
        ("(217) 469-4316", "US", "+12174694316"),
        ("1-217-469-4316", "US", "+12174694316"),
        ("217.469.4316", "US", "+12174694316"),
        ("011 49 211 5952940", "US", "+492115952940"),
        ("056-8313858", "IE", "+353568313858"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        # Italian numbers keep their leading zero after the country code.
        ("06 1234 5678", "IT", "+390612345678"),
        ("+39 06 1234 5678", None, "+390612345678"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phone_to_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [(None, "DE"), ("", "DE"), ("n/a", "DE"), ("12", "DE"), ("0211 595", None), ("+999 12345678", None)],
)
def test_phone_rejects_what_is_no_number(raw: str | None, region: str | None) -> None:
    assert normalize_phone(raw, region) is None


@pytest.mark.parametrize("country", ["DE", "AT", "FR", "GB", "IE", "US", "PL", "SE", "FI", "NL", "ES"])
def test_phone_notations_of_the_silos_agree_with_libphonenumber(country: str) -> None:
    """Every notation the silos write a number in gives one E.164 value, the one libphonenumber gives."""
    from silos.erp.reference import COUNTRY_BY_CODE

    info = COUNTRY_BY_CODE[country]
    city = info.subdivisions[0].cities[0]
    subscriber = "4" + "2" * (info.national_digits - len(city.area_code) - 1)
    canonical = f"+{info.calling_code}{city.area_code}{subscriber}"
    parsed = phonenumbers.format_number(phonenumbers.parse(canonical), phonenumbers.PhoneNumberFormat.E164)
    for style in PHONE_STYLES:
        written = phone_variant(canonical, country, style)
        assert normalize_phone(written, country) == parsed, (style, written)


def test_region_from_domain() -> None:
    assert region_from_domain("example.de") == "DE"
    assert region_from_domain("example.co.uk") == "GB"
    assert region_from_domain("example.com") == "US"
    assert region_from_domain("example.xyz") is None
    assert region_from_domain(None) is None


# -- company names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("canonical", sorted(LEGAL_FORM_SPELLINGS))
def test_every_spelling_of_a_legal_form_is_stripped(canonical: str) -> None:
    for spelling in LEGAL_FORM_SPELLINGS[canonical]:
        assert normalize_company_name(f"Müller Logistik {spelling}") == "muller logistik", spelling
    # Every spelling of one form is that form, and no other form's.
    forms = {legal_form(f"Müller Logistik {spelling}") for spelling in LEGAL_FORM_SPELLINGS[canonical]}
    assert len(forms) == 1 and None not in forms, forms


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Alfreds Futterkiste", "ALFREDS FUTTERKISTE GmbH"),
        ("Alfreds Futterkiste GmbH", "Alfreds Futterkiste G.m.b.H. (Berlin)"),
        ("Dörschner AG", "Doerschner".replace("oe", "ö") + " Aktiengesellschaft"),
        ("King & Harris, Inc.", "King and Harris Incorporated"),
        ("Boksa i Noszczyk Sp. z o.o.", "BOKSA & NOSZCZYK SP Z OO"),
        ("Martínez y Pons S.L.", "Martinez & Pons SL"),
        ("Emballages Devaux S. A.", "EMBALLAGES DEVAUX SA"),
        ("Westerlund Teknik AB (publ)", "Westerlund Teknik Aktiebolag"),
        ("Turunen Oy", "turunen osakeyhtiö"),
        ("Honing V.O.F.", "Honing vof"),
        ("Reid Ltd.", "Reid Limited"),
        ("Weston PLC", "Weston p.l.c."),
        ("Nordvik ApS", "Nordvik"),
        ("Fjord A/S", "Fjord AS"),
        ("Seip GmbH & Co. KG", "Seip GmbH u. Co. KG"),
        ("Seip GmbH + Co. KG", "Seip"),
        ("Acme LLC", "ACME L.L.C."),
        ("Banco Rossi S.p.A.", "Banco Rossi SpA"),
        ("Société Générale SAS", "Societe Generale S.A.S."),
        ("Volvo Lastvagnar AB", "AB Volvo Lastvagnar"),
        ("Straße GmbH", "Strasse"),
        ("Łódź Trans", "Lodz Trans"),
    ],
)
def test_names_of_one_company_normalize_alike(left: str, right: str) -> None:
    assert normalize_company_name(left) == normalize_company_name(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [("Müller Logistik", "Müller Logistics"), ("Alpha Bau", "Beta Bau"), ("King & Harris", "King Harrison")],
)
def test_different_companies_stay_different(left: str, right: str) -> None:
    assert normalize_company_name(left) != normalize_company_name(right)


def test_a_name_is_never_stripped_to_nothing() -> None:
    assert normalize_company_name("AG") == "ag"
    assert normalize_company_name("Company Ltd") == "company"
    assert normalize_company_name("  ") is None
    assert normalize_company_name("(GmbH)") is None
    assert normalize_company_name(None) is None


def test_fold_removes_diacritics_and_special_letters() -> None:
    assert fold("Dörschner Łódź Straße Øresund Æble") == "dorschner lodz strasse oresund aeble"


# -- addresses, tax ids, countries, websites -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("D-40886", "DE", "40886"),
        ("40886", "DE", "40886"),
        ("SE-410 11", "SE", "41011"),
        ("410 11", None, "41011"),
        ("r95 g2n1", "IE", "R95G2N1"),
        ("EH9 9AG", "GB", "EH99AG"),
        ("75035", None, "75035"),
    ],
)
def test_postal_codes(raw: str, country: str | None, expected: str) -> None:
    assert normalize_postal_code(raw, country) == expected


@pytest.mark.parametrize("raw", [None, "", "n/a", "-", "unknown"])
def test_postal_codes_without_digits_are_dropped(raw: str | None) -> None:
    assert normalize_postal_code(raw, "DE") is None


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("DE 375 925 718", None, "DE375925718"),
        ("de375.925.718", None, "DE375925718"),
        ("375925718", "DE", "DE375925718"),
        ("ATU23873679", "AT", "ATU23873679"),
        ("EL 123456789", None, "GR123456789"),
        ("93-4389524", "US", "US934389524"),
        ("PL 493-847-32-66", None, "PL4938473266"),
    ],
)
def test_tax_ids(raw: str, country: str | None, expected: str) -> None:
    assert normalize_tax_id(raw, country) == expected


def test_tax_id_too_short_is_dropped() -> None:
    assert normalize_tax_id("12", "DE") is None
    assert normalize_tax_id(None, "DE") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("Niemcy", "DE"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("España", "ES"),
        ("Sverige", "SE"),
        ("The Netherlands", "NL"),
    ],
)
def test_countries(raw: str, expected: str) -> None:
    assert normalize_country(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "Narnia", "XX", "12"])
def test_unknown_countries(raw: str | None) -> None:
    assert normalize_country(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Example.de/kontakt?x=1", "example.de"),
        ("www.example.de", "example.de"),
        ("example.de", "example.de"),
        ("http://user@shop.example.co.uk:8080/", "shop.example.co.uk"),
    ],
)
def test_website_domains(raw: str, expected: str) -> None:
    assert website_domain(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "not a url", "http://", "localhost"])
def test_website_garbage_is_dropped(raw: str | None) -> None:
    assert website_domain(raw) is None


def test_street_spellings_agree() -> None:
    assert normalize_street("Kühnertstraße 90") == normalize_street("Kühnertstr. 90") == "kuhnert str 90"
    assert normalize_street("ul. Poznańska 149") == normalize_street("Poznanska 149")
    assert normalize_street("5148 Becker Lane") == normalize_street("5148 Becker Ln.")


def test_legal_forms_are_told_apart_and_spelled_one_way() -> None:
    assert legal_form("Great Lakes Construction Inc.") == legal_form("GREAT LAKES CONSTRUCTION Incorporated")
    assert legal_form("Great Lakes Construction Inc.") != legal_form("Great Lakes Construction LLC")
    assert legal_form("Acme Limited") == legal_form("ACME LTD") == "ltd"
    assert legal_form("Svea Handel AB (publ)") == legal_form("Svea Handel Aktiebolag") == "ab"
    assert legal_form("Azur Industrie S.à r.l.") == "sarl" != legal_form("Azur Industrie S. A.")
    assert legal_form("Dunn") is None
    assert legal_form(None) is None
