"""Company names: the name without its legal form, and the legal form, one spelling each, so that
``"ALFREDS FUTTERKISTE G.m.b.H. & Co. KG"`` and ``"Alfreds Futterkiste GmbH u. Co. KG"`` agree."""

from __future__ import annotations

import functools
import re

from .normalize import fold

#: Legal forms, written as their letters run together (``"GmbH & Co. KG"`` -> ``"gmbhcokg"``), so every
#: spacing and punctuation of them (``"G.m.b.H."``, ``"Sp. z o. o."``, ``"S. A."``) compares equal.
LEGAL_FORMS = frozenset(
    {
        # German-speaking
        "gmbh", "mbh", "ggmbh", "gmbhcokg", "gmbhcokgaa", "gmbhcoohg", "agcokg", "ag", "kg", "kgaa", "ohg",
        "og", "ek", "ekfr", "ekfm", "ug", "ughaftungsbeschrankt", "aktiengesellschaft",
        "kommanditgesellschaft", "gesellschaftmbh", "gesmbh", "eg", "ev",
        # English
        "ltd", "limited", "plc", "llp", "lp", "llc", "inc", "incorporated", "corp", "corporation", "co",
        "company", "coltd", "coinc", "pty", "ptyltd", "pvtltd", "dac", "clg", "uc", "lc", "pllc", "pc",
        # French, Belgian, Swiss, Luxembourg
        "sa", "sas", "sasu", "sarl", "eurl", "snc", "sca", "scs", "sci", "scop", "sprl", "srl", "bvba",
        "cvba", "scrl", "asbl", "sagl", "sanv",
        # Spanish, Portuguese, Latin American
        "sl", "slu", "sll", "slne", "sau", "scoop", "ltda", "sacv", "sadecv", "srldecv", "eireli", "lda",
        # Italian
        "spa", "srls", "sapa", "scarl",
        # Polish, Czech, Slovak, Hungarian, Balkan
        "spzoo", "spolkazoo", "spolkazograniczonaodpowiedzialnoscia", "spj", "spolkajawna", "spk",
        "spolkakomandytowa", "spp", "ska", "sro", "spolsro", "as", "vos", "kft", "zrt", "nyrt", "bt",
        "doo", "dd", "ad", "ood", "eood",
        # Dutch
        "bv", "nv", "vof", "cv", "bvio",
        # Nordic
        "ab", "abpubl", "aktiebolag", "hb", "handelsbolag", "kb", "kommanditbolag", "oy", "oyj",
        "osakeyhtio", "ky", "ay", "aps", "is", "ivs", "amba", "asa", "ans", "da", "ks", "ehf", "hf", "sf",
        # Other
        "ou", "uab", "sia", "ooo", "zao", "oao", "pao", "ao", "ltdsti", "kk", "gk", "bhd", "sdnbhd",
        "pte", "pteltd",
    }
)  # fmt: skip
#: Words that join partners' names; spelled differently per language and per silo.
_JOINERS = frozenset({"&", "and", "und", "et", "y", "e", "i", "en", "och", "og", "ja", "u", "+"})
_LONGEST_FORM = 6  # tokens: "spolka z ograniczona odpowiedzialnoscia" has four, with joiners more
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_DELETED = re.compile("[.'`\u2019\u00b4]")  # "G.m.b.H." -> "gmbh", "O'Neil" -> "oneil"
_SEPARATORS = re.compile(r"[^a-z0-9&+]+")


def _collapse_initials(tokens: list[str]) -> list[str]:
    """``["s", "a", "s"]`` -> ``["sas"]``: initials typed with spaces (``"S. A. S."``) are one word."""
    out: list[str] = []
    run: list[str] = []
    for token in tokens:
        if len(token) == 1 and token.isalpha() and token not in ("&", "+"):
            run.append(token)
            continue
        if run:
            out.append("".join(run) if len(run) > 1 else run[0])
            run = []
        out.append(token)
    if run:
        out.append("".join(run) if len(run) > 1 else run[0])
    return out


def _form_key(tokens: list[str]) -> str:
    return "".join(t for t in tokens if t not in _JOINERS)


#: Legal forms spelled out or abbreviated differently that are the same form (first key: the spelled-out
#: one), so that ``legal_form`` gives one value per form.
_FORM_SYNONYMS = {
    "limited": "ltd", "incorporated": "inc", "corporation": "corp", "company": "co",
    "aktiengesellschaft": "ag", "kommanditgesellschaft": "kg", "gesellschaftmbh": "gmbh", "gesmbh": "gmbh",
    "ekfr": "ek", "ekfm": "ek", "ughaftungsbeschrankt": "ug", "abpubl": "ab", "aktiebolag": "ab",
    "handelsbolag": "hb", "kommanditbolag": "kb", "osakeyhtio": "oy", "spolkazoo": "spzoo",
    "spolkazograniczonaodpowiedzialnoscia": "spzoo", "spolkajawna": "spj", "spolkakomandytowa": "spk",
    "spolsro": "sro",
}  # fmt: skip


def _strip_legal_forms(tokens: list[str]) -> tuple[list[str], str | None]:
    """The name without its legal forms, and the outermost form found (``None``: none)."""
    # Repeatedly, because forms stack ("Holding GmbH & Co. KG", "AB (publ)"); never to nothing.
    found: str | None = None
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for size in range(min(_LONGEST_FORM, len(tokens) - 1), 0, -1):
            # One token is taken as written: the Austrian "OG" is also the Norwegian "and".
            key = tokens[-1] if size == 1 else _form_key(tokens[-size:])
            if key in LEGAL_FORMS:
                tokens = tokens[:-size]
                while len(tokens) > 1 and tokens[-1] in _JOINERS:
                    tokens = tokens[:-1]
                found = found or key
                changed = True
                break
        if not changed and len(tokens) > 2 and tokens[0] in LEGAL_FORMS:  # "AB Volvo", "Oy Example Ab"
            found = found or tokens[0]
            tokens = tokens[1:]
            changed = True
    return tokens, None if found is None else _FORM_SYNONYMS.get(found, found)


@functools.lru_cache(maxsize=131072)
def company_name_parts(value: str | None) -> tuple[str | None, str | None]:
    """The normalized name and the legal form: ``"ALFREDS FUTTERKISTE G.m.b.H. & Co. KG (Berlin)"`` ->
    ``("alfreds futterkiste", "gmbhcokg")``; ``"Acme Limited"`` -> ``("acme", "ltd")``.

    Diacritics folded, bracketed remarks dropped, punctuation removed, legal forms of many countries
    stripped from the end (and from the start, Nordic style), and "&", "+", "and", "und", "et", "y", "i"...
    between names written as "&". The form is written as its letters run together, one spelling per form
    (``"Ltd."`` and ``"Limited"`` are both ``"ltd"``).
    """
    if not value:
        return None, None
    text = _BRACKETS.sub(" ", fold(value))
    text = _SEPARATORS.sub(" ", _DELETED.sub("", text)).replace("&", " & ").replace("+", " & ")
    tokens = _collapse_initials(text.split())
    if not tokens:
        return None, None
    tokens, form = _strip_legal_forms(tokens)
    # Joiners only matter between names; write them all as "&".
    tokens = ["&" if t in _JOINERS and 0 < i < len(tokens) - 1 else t for i, t in enumerate(tokens)]
    tokens = [t for t in tokens if t not in _JOINERS or t == "&"]
    return " ".join(tokens) or None, form


def normalize_company_name(value: str | None) -> str | None:
    """``"ALFREDS FUTTERKISTE G.m.b.H. & Co. KG (Berlin)"`` -> ``"alfreds futterkiste"`` (see
    ``company_name_parts``)."""
    return company_name_parts(value)[0]


def legal_form(value: str | None) -> str | None:
    """The legal form a company name states, one spelling per form (``"Acme Ltd."`` -> ``"ltd"``,
    ``"Müller GmbH & Co. KG"`` -> ``"gmbhcokg"``); ``None`` when it states none."""
    return company_name_parts(value)[1]
