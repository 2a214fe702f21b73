"""Static reference data of the simulated ERP: sales regions, countries with their first-level
administrative units and a few real cities each, legal forms, and the vocabulary company names are built from.

Everything here is plain data in a fixed order, so the generator's output depends only on its parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: "Now" for the generated data. Fixed so that two runs on different days produce identical rows.
REFERENCE_DATE = dt.datetime(2025, 1, 1, 0, 0, 0)

#: Price-list currency of the product catalogue and the conversion into each order currency.
PRICE_LIST_CURRENCY = "EUR"
RATES_FROM_EUR: dict[str, float] = {"EUR": 1.0, "PLN": 4.30, "GBP": 0.85, "USD": 1.08, "SEK": 11.20}


@dataclass(frozen=True, slots=True)
class City:
    name: str
    #: ``#`` is a random digit, ``?`` a random capital letter, anything else is kept.
    postal_pattern: str
    #: Dialling area code without the trunk prefix.
    area_code: str


@dataclass(frozen=True, slots=True)
class Subdivision:
    code: str  # ISO 3166-2
    name: str
    cities: tuple[City, ...]


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name: str
    region: str
    locale: str  # Faker locale for person and street names
    language: str
    currency: str
    calling_code: str
    trunk_prefix: str  # "0" where national numbers are dialled with a leading zero
    national_digits: int  # length of the national significant number (area code + subscriber)
    tld: str
    #: Relative share of customers.
    weight: int
    legal_forms: tuple[tuple[str, int], ...]
    subdivisions: tuple[Subdivision, ...]


REGIONS: tuple[tuple[str, str], ...] = (
    ("EMEA-CENTRAL", "EMEA Central"),
    ("EMEA-WEST", "EMEA West"),
    ("NORDICS", "Nordics"),
    ("UK-IE", "United Kingdom & Ireland"),
    ("NORTH-AMERICA", "North America"),
)


def _sub(code: str, name: str, *cities: tuple[str, str, str]) -> Subdivision:
    return Subdivision(code, name, tuple(City(*city) for city in cities))


# fmt: off
COUNTRIES: tuple[Country, ...] = (
    Country(
        "DE", "Germany", "EMEA-CENTRAL", "de_DE", "de", "EUR", "49", "0", 10, "de", 18,
        (("GmbH", 55), ("GmbH & Co. KG", 20), ("AG", 8), ("KG", 7), ("e.K.", 5), ("OHG", 5)),
        (
            _sub("DE-BY", "Bayern", ("München", "80###", "89"), ("Nürnberg", "90###", "911"),
                 ("Augsburg", "86###", "821"), ("Regensburg", "93###", "941")),
            _sub("DE-BW", "Baden-Württemberg", ("Stuttgart", "70###", "711"), ("Karlsruhe", "76###", "721"),
                 ("Mannheim", "68###", "621"), ("Freiburg im Breisgau", "79###", "761")),
            _sub("DE-NW", "Nordrhein-Westfalen", ("Köln", "50###", "221"), ("Düsseldorf", "40###", "211"),
                 ("Dortmund", "44###", "231"), ("Essen", "45###", "201")),
            _sub("DE-HE", "Hessen", ("Frankfurt am Main", "60###", "69"), ("Wiesbaden", "65###", "611"),
                 ("Kassel", "34###", "561")),
            _sub("DE-BE", "Berlin", ("Berlin", "10###", "30"), ("Berlin", "12###", "30")),
            _sub("DE-HH", "Hamburg", ("Hamburg", "20###", "40"), ("Hamburg", "22###", "40")),
        ),
    ),
    Country(
        "AT", "Austria", "EMEA-CENTRAL", "de_AT", "de", "EUR", "43", "0", 10, "at", 4,
        (("GmbH", 70), ("AG", 10), ("KG", 10), ("OG", 10)),
        (
            _sub("AT-9", "Wien", ("Wien", "1##0", "1")),
            _sub("AT-6", "Steiermark", ("Graz", "80##", "316"), ("Leoben", "87##", "3842")),
            _sub("AT-4", "Oberösterreich", ("Linz", "40##", "732"), ("Wels", "46##", "7242"),
                 ("Steyr", "44##", "7252")),
        ),
    ),
    Country(
        "PL", "Poland", "EMEA-CENTRAL", "pl_PL", "pl", "PLN", "48", "", 9, "pl", 12,
        (("Sp. z o.o.", 65), ("S.A.", 15), ("Sp.j.", 10), ("Sp.k.", 10)),
        (
            _sub("PL-14", "Mazowieckie", ("Warszawa", "0#-###", "22"), ("Radom", "26-6##", "48"),
                 ("Płock", "09-4##", "24")),
            _sub("PL-12", "Małopolskie", ("Kraków", "3#-###", "12"), ("Tarnów", "33-1##", "14"),
                 ("Nowy Sącz", "33-3##", "18")),
            _sub("PL-24", "Śląskie", ("Katowice", "40-###", "32"), ("Gliwice", "44-1##", "32"),
                 ("Częstochowa", "42-2##", "34")),
            _sub("PL-30", "Wielkopolskie", ("Poznań", "6#-###", "61"), ("Kalisz", "62-8##", "62")),
            _sub("PL-02", "Dolnośląskie", ("Wrocław", "5#-###", "71"), ("Legnica", "59-2##", "76")),
            _sub("PL-22", "Pomorskie", ("Gdańsk", "80-###", "58"), ("Gdynia", "81-###", "58"),
                 ("Słupsk", "76-2##", "59")),
        ),
    ),
    Country(
        "FR", "France", "EMEA-WEST", "fr_FR", "fr", "EUR", "33", "0", 9, "fr", 12,
        (("SAS", 45), ("SARL", 35), ("S.A.", 15), ("SNC", 5)),
        (
            _sub("FR-IDF", "Île-de-France", ("Paris", "750##", "1"), ("Boulogne-Billancourt", "92100", "1"),
                 ("Versailles", "78000", "1")),
            _sub("FR-ARA", "Auvergne-Rhône-Alpes", ("Lyon", "6900#", "4"), ("Grenoble", "3800#", "4"),
                 ("Clermont-Ferrand", "6300#", "4")),
            _sub("FR-NAQ", "Nouvelle-Aquitaine", ("Bordeaux", "3300#", "5"), ("Limoges", "8700#", "5")),
            _sub("FR-OCC", "Occitanie", ("Toulouse", "3100#", "5"), ("Montpellier", "3400#", "4")),
            _sub("FR-HDF", "Hauts-de-France", ("Lille", "5900#", "3"), ("Amiens", "8000#", "3")),
        ),
    ),
    Country(
        "NL", "Netherlands", "EMEA-WEST", "nl_NL", "nl", "EUR", "31", "0", 9, "nl", 7,
        (("B.V.", 80), ("N.V.", 10), ("V.O.F.", 10)),
        (
            _sub("NL-NH", "Noord-Holland", ("Amsterdam", "10## ??", "20"), ("Haarlem", "20## ??", "23")),
            _sub("NL-ZH", "Zuid-Holland", ("Rotterdam", "30## ??", "10"), ("Den Haag", "25## ??", "70"),
                 ("Leiden", "23## ??", "71")),
            _sub("NL-UT", "Utrecht", ("Utrecht", "35## ??", "30"), ("Amersfoort", "38## ??", "33")),
            _sub("NL-NB", "Noord-Brabant", ("Eindhoven", "56## ??", "40"), ("Tilburg", "50## ??", "13"),
                 ("'s-Hertogenbosch", "52## ??", "73")),
        ),
    ),
    Country(
        "ES", "Spain", "EMEA-WEST", "es_ES", "es", "EUR", "34", "", 9, "es", 7,
        (("S.L.", 70), ("S.A.", 25), ("S.L.U.", 5)),
        (
            _sub("ES-MD", "Comunidad de Madrid", ("Madrid", "280##", "91"),
                 ("Alcalá de Henares", "288##", "91")),
            _sub("ES-CT", "Cataluña", ("Barcelona", "080##", "93"), ("Girona", "170##", "972"),
                 ("Tarragona", "430##", "977")),
            _sub("ES-AN", "Andalucía", ("Sevilla", "410##", "95"), ("Málaga", "290##", "95"),
                 ("Granada", "180##", "958")),
            _sub("ES-VC", "Comunitat Valenciana", ("Valencia", "460##", "96"), ("Alicante", "030##", "96")),
            _sub("ES-PV", "País Vasco", ("Bilbao", "480##", "94"), ("San Sebastián", "200##", "943"),
                 ("Vitoria-Gasteiz", "010##", "945")),
        ),
    ),
    Country(
        "SE", "Sweden", "NORDICS", "sv_SE", "sv", "SEK", "46", "0", 9, "se", 5,
        (("AB", 85), ("AB (publ)", 5), ("HB", 10)),
        (
            _sub("SE-AB", "Stockholms län", ("Stockholm", "11# ##", "8"), ("Södertälje", "151 ##", "8")),
            _sub("SE-O", "Västra Götalands län", ("Göteborg", "41# ##", "31"), ("Borås", "50# ##", "33")),
            _sub("SE-M", "Skåne län", ("Malmö", "21# ##", "40"), ("Helsingborg", "25# ##", "42"),
                 ("Lund", "22# ##", "46")),
            _sub("SE-C", "Uppsala län", ("Uppsala", "75# ##", "18")),
        ),
    ),
    Country(
        "FI", "Finland", "NORDICS", "fi_FI", "fi", "EUR", "358", "0", 9, "fi", 3,
        (("Oy", 85), ("Oyj", 10), ("Ky", 5)),
        (
            _sub("FI-18", "Uusimaa", ("Helsinki", "00###", "9"), ("Espoo", "02###", "9"),
                 ("Vantaa", "01###", "9")),
            _sub("FI-11", "Pirkanmaa", ("Tampere", "33###", "3")),
            _sub("FI-19", "Varsinais-Suomi", ("Turku", "20###", "2")),
        ),
    ),
    Country(
        "GB", "United Kingdom", "UK-IE", "en_GB", "en", "GBP", "44", "0", 10, "co.uk", 12,
        (("Ltd", 75), ("PLC", 10), ("LLP", 10), ("Limited", 5)),
        (
            _sub("GB-ENG", "England", ("London", "SE# #??", "20"), ("Manchester", "M# #??", "161"),
                 ("Birmingham", "B# #??", "121"), ("Leeds", "LS# #??", "113"), ("Bristol", "BS# #??", "117")),
            _sub("GB-SCT", "Scotland", ("Edinburgh", "EH# #??", "131"), ("Glasgow", "G# #??", "141"),
                 ("Aberdeen", "AB1# #??", "1224")),
            _sub("GB-WLS", "Wales", ("Cardiff", "CF1# #??", "29"), ("Swansea", "SA# #??", "1792")),
            _sub("GB-NIR", "Northern Ireland", ("Belfast", "BT# #??", "28"), ("Derry", "BT4# #??", "28")),
        ),
    ),
    Country(
        "IE", "Ireland", "UK-IE", "en_IE", "en", "EUR", "353", "0", 9, "ie", 3,
        (("Ltd", 70), ("Limited", 15), ("DAC", 10), ("PLC", 5)),
        (
            _sub("IE-L", "Leinster", ("Dublin", "D0# ?#?#", "1"), ("Kilkenny", "R95 ?#?#", "56")),
            _sub("IE-M", "Munster", ("Cork", "T12 ?#?#", "21"), ("Limerick", "V94 ?#?#", "61")),
            _sub("IE-C", "Connacht", ("Galway", "H91 ?#?#", "91"), ("Sligo", "F91 ?#?#", "71")),
        ),
    ),
    Country(
        "US", "United States", "NORTH-AMERICA", "en_US", "en", "USD", "1", "", 10, "com", 17,
        (("Inc.", 45), ("LLC", 35), ("Corp.", 15), ("Corporation", 5)),
        (
            _sub("US-CA", "California", ("San Francisco", "941##", "415"), ("Los Angeles", "900##", "213"),
                 ("San Diego", "921##", "619"), ("San Jose", "951##", "408")),
            _sub("US-NY", "New York", ("New York", "100##", "212"), ("Buffalo", "142##", "716"),
                 ("Rochester", "146##", "585")),
            _sub("US-TX", "Texas", ("Houston", "770##", "713"), ("Dallas", "752##", "214"),
                 ("Austin", "787##", "512")),
            _sub("US-IL", "Illinois", ("Chicago", "606##", "312"), ("Springfield", "627##", "217")),
            _sub("US-MA", "Massachusetts", ("Boston", "021##", "617"), ("Worcester", "016##", "508")),
            _sub("US-WA", "Washington", ("Seattle", "981##", "206"), ("Spokane", "992##", "509")),
        ),
    ),
)
# fmt: on

COUNTRY_BY_CODE: dict[str, Country] = {country.code: country for country in COUNTRIES}

# fmt: off
#: Nouns that make a company name sound like a business, per language.
BUSINESS_NOUNS: dict[str, tuple[str, ...]] = {
    "de": ("Technik", "Logistik", "Handel", "Systeme", "Maschinenbau", "Elektro", "Bau", "Metallbau",
           "Automation", "Verpackung", "Antriebstechnik", "Industriebedarf"),
    "pl": ("Technika", "Logistyka", "Handel", "Systemy", "Budownictwo", "Elektro", "Metal", "Automatyka",
           "Opakowania", "Przemysł", "Serwis", "Transport"),
    "fr": ("Technologies", "Logistique", "Distribution", "Systèmes", "Industrie", "Électricité", "Bâtiment",
           "Emballages", "Automatismes", "Services", "Mécanique"),
    "nl": ("Techniek", "Logistiek", "Handel", "Systemen", "Installatietechniek", "Bouw", "Verpakkingen",
           "Automatisering", "Machinebouw"),
    "es": ("Tecnologías", "Logística", "Distribución", "Sistemas", "Industrial", "Eléctrica",
           "Construcciones", "Embalajes", "Automatización", "Servicios"),
    "sv": ("Teknik", "Logistik", "Handel", "System", "Industri", "El", "Bygg", "Förpackning", "Automation",
           "Mekanik"),
    "fi": ("Tekniikka", "Logistiikka", "Kauppa", "Järjestelmät", "Teollisuus", "Sähkö", "Rakennus", "Pakkaus",
           "Automaatio"),
    "en": ("Technologies", "Logistics", "Trading", "Systems", "Industries", "Electrical", "Construction",
           "Packaging", "Automation", "Engineering", "Supplies", "Solutions"),
}

#: Languages that put the business noun first ("Logistique Martin" rather than "Martin Logistique").
NOUN_FIRST_LANGUAGES = frozenset({"fr", "es"})

#: How two family names are joined in a partnership's name.
PARTNER_JOINERS: dict[str, str] = {"de": " & ", "pl": " i ", "fr": " & ", "nl": " & ", "es": " y ",
                                   "sv": " & ", "fi": " & ", "en": " & "}

#: Regional brand words per country ("Rhein Logistik GmbH", "Wisła Handel Sp. z o.o.").
BRANDS: dict[str, tuple[str, ...]] = {
    "DE": ("Rhein", "Alpen", "Nord", "Süd", "Isar", "Elbe", "Main", "Spree", "Bavaria", "Hansa"),
    "AT": ("Donau", "Alpen", "Tauern", "Austria", "Inn", "Mur"),
    "PL": ("Wisła", "Bałtyk", "Mazovia", "Polmet", "Tatra", "Warta", "Odra", "Silesia", "Pomerania"),
    "FR": ("Loire", "Seine", "Alpes", "Atlantique", "Provence", "Rhône", "Bretagne", "Azur"),
    "NL": ("Holland", "Delta", "Maas", "Rijn", "Polder", "Oranje"),
    "ES": ("Ibérica", "Mediterránea", "Levante", "Atlántica", "Cantábrica", "Hispania", "Sierra"),
    "SE": ("Norrland", "Svea", "Göta", "Vänern", "Nordic", "Skandia"),
    "FI": ("Suomen", "Pohjola", "Saimaa", "Lappi", "Nordic"),
    "GB": ("Albion", "Thames", "Pennine", "Northern", "Britannia", "Clyde", "Severn"),
    "IE": ("Shannon", "Liffey", "Emerald", "Atlantic", "Celtic"),
    "US": ("Pacific", "Atlantic", "Summit", "Liberty", "Pioneer", "Great Lakes", "Lone Star", "Evergreen"),
}

#: Local part of a company's general mailbox, per language.
GENERIC_MAILBOXES: dict[str, tuple[str, ...]] = {
    "de": ("info", "kontakt", "office", "vertrieb"),
    "pl": ("biuro", "kontakt", "info", "sekretariat"),
    "fr": ("contact", "info", "accueil"),
    "nl": ("info", "contact", "verkoop"),
    "es": ("info", "contacto", "administracion"),
    "sv": ("info", "kontakt", "order"),
    "fi": ("info", "myynti", "asiakaspalvelu"),
    "en": ("info", "sales", "hello", "accounts"),
}

INDUSTRIES: tuple[str, ...] = (
    "Manufacturing", "Wholesale", "Retail", "Construction", "Automotive", "Logistics",
    "Food & Beverage", "Chemicals", "Energy", "Healthcare", "IT Services", "Agriculture",
    "Mechanical Engineering", "Electronics",
)

CONTACT_TITLES: tuple[str, ...] = (
    "Purchasing Manager", "Head of Procurement", "Buyer", "Senior Buyer", "Chief Financial Officer",
    "Accounts Payable Clerk", "Operations Director", "Managing Director", "Chief Executive Officer",
    "Logistics Coordinator", "IT Manager", "Plant Manager", "Office Manager", "Maintenance Manager",
)
# fmt: on

INTERNAL_EMAIL_DOMAIN = "erp.example.com"
