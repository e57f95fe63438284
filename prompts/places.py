"""Countries by name: "which country ..." is answered by a sentence naming one the question does not."""

from __future__ import annotations

import re
from functools import lru_cache

_ONE_WORD = """
    Afghanistan Albania Algeria Andorra Angola Argentina Armenia Australia Austria Azerbaijan
    Bahamas Bahrain Bangladesh Barbados Belarus Belgium Belize Benin Bhutan Bolivia Bosnia
    Botswana Brazil Brunei Bulgaria Burkina Burundi Cambodia Cameroon Canada Chad Chile China
    Colombia Comoros Congo Croatia Cuba Cyprus Czechia Denmark Djibouti Dominica Ecuador Egypt
    Eritrea Estonia Eswatini Ethiopia Fiji Finland France Gabon Gambia Georgia Germany Ghana
    Greece Grenada Guatemala Guinea Guyana Haiti Honduras Hungary Iceland India Indonesia Iran
    Iraq Ireland Israel Italy Jamaica Japan Jordan Kazakhstan Kenya Kiribati Kosovo Kuwait
    Kyrgyzstan Laos Latvia Lebanon Lesotho Liberia Libya Liechtenstein Lithuania Luxembourg
    Madagascar Malawi Malaysia Maldives Mali Malta Mauritania Mauritius Mexico Micronesia
    Moldova Monaco Mongolia Montenegro Morocco Mozambique Myanmar Namibia Nauru Nepal
    Netherlands Nicaragua Niger Nigeria Norway Oman Pakistan Palau Palestine Panama Paraguay
    Peru Philippines Poland Portugal Qatar Romania Russia Rwanda Samoa Senegal Serbia Seychelles
    Singapore Slovakia Slovenia Somalia Spain Sudan Suriname Sweden Switzerland Syria Taiwan
    Tajikistan Tanzania Thailand Togo Tonga Tunisia Turkey Türkiye Turkmenistan Tuvalu Uganda
    Ukraine Uruguay Uzbekistan Vanuatu Vatican Venezuela Vietnam Yemen Zambia Zimbabwe
""".split()
_MORE_WORDS = (
    "United States",
    "United Kingdom",
    "New Zealand",
    "North Korea",
    "South Korea",
    "South Africa",
    "Saudi Arabia",
    "Sri Lanka",
    "Costa Rica",
    "El Salvador",
    "Ivory Coast",
    "Sierra Leone",
    "Papua New Guinea",
    "Dominican Republic",
    "Czech Republic",
    "United Arab Emirates",
    "North Macedonia",
    "East Timor",
    "Cape Verde",
    "South Sudan",
    "Hong Kong",
    "Puerto Rico",
    "Greenland",
    "Scotland",
    "England",
    "Wales",
    "America",
    "Britain",
)
_ABBREVIATIONS = ("US", "U.S.", "UK", "U.K.", "UAE")
_COUNTRY = re.compile(
    r"\b(?:"
    + "|".join(
        re.escape(c) for c in sorted([*_ONE_WORD, *_MORE_WORDS, *_ABBREVIATIONS], key=len, reverse=True)
    )
    + r")(?!\w)"
)
#: "Which country ...", "what nation ...", "which European countries ..."
ASKS_FOR_COUNTRY = re.compile(
    r"\b(?:which|what)\s+(?:(?!(?:did|does|do|is|was|are|were|has|have|had|the|a|an|its|his|her)\b)\w+\s+){0,3}?"
    r"(?:country|countries|nation|nations)\b",
    re.I,
)


@lru_cache(maxsize=50_000)
def countries_in(sentence: str) -> tuple[str, ...]:
    """The countries ``sentence`` names, as written."""
    return tuple(m.group(0) for m in _COUNTRY.finditer(sentence))


__all__ = ["ASKS_FOR_COUNTRY", "countries_in"]
