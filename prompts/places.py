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
_US_STATES = (
    (
        "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii "
        "Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan "
        "Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania "
        "Tennessee Texas Utah Vermont Virginia Washington Wisconsin Wyoming"
    ).split()
    + [
        f"{side} {name}"
        for side, name in (("New", "Hampshire"), ("New", "Jersey"), ("New", "Mexico"), ("New", "York"))
    ]
    + ["North Carolina", "North Dakota", "South Carolina", "South Dakota", "West Virginia", "Rhode Island"]
)
_STATE = re.compile(r"\b(?:" + "|".join(sorted(_US_STATES, key=len, reverse=True)) + r")\b")
#: "Which state ...", "what US state ..."
ASKS_FOR_STATE = re.compile(
    r"\b(?:which|what)\s+(?:(?!(?:did|does|do|is|was|are|were|has|have|had|the|a|an|its|his|her)\b)\w+\s+){0,2}?"
    r"states?\b(?!\s+(?:of|department|media|TV|television|news|broadcaster))",
    re.I,
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


@lru_cache(maxsize=50_000)
def states_in(sentence: str) -> tuple[str, ...]:
    """The US states ``sentence`` names, as written ("New York" may be the city too)."""
    return tuple(m.group(0) for m in _STATE.finditer(sentence))


__all__ = ["ASKS_FOR_COUNTRY", "ASKS_FOR_STATE", "countries_in", "states_in"]
