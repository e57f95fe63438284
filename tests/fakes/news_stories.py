"""The articles the fake news site serves, with the truth extraction is measured against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Story:
    """One served article: where, which outlet, and what a perfect extraction returns."""

    path: str
    outlet: str
    headline: str
    published: date
    paragraphs: tuple[str, ...]
    author: str = "Staff reporter"
    modified: date | None = None
    related: tuple[str, ...] = ()


_WIRE = (
    "Cargo traffic on the Rhine fell to its lowest level on record this week as a months-long "
    "drought left the river too shallow for fully loaded barges, shipping operators said on Friday.",
    "The water gauge at Kaub, a bottleneck west of Frankfurt, read 31 centimetres on Thursday, "
    "below the previous low set in the summer of 2022, according to the German federal waterways agency.",
    "At that depth most barges can carry only a quarter of their usual load, forcing shippers to "
    "split cargoes across several vessels and pushing freight rates to three times their spring level.",
    "Chemical makers and steel mills along the river rely on barges for coal, ore and feedstock, and "
    "several have warned that deliveries could slow further if rain does not arrive within two weeks.",
    "Forecasters expect only light showers over the Alps before the end of the month, the agency said, "
    "adding that levels were unlikely to recover before December.",
)

HARBOR = "Harbor Times"
COURIER = "Valley Courier"

PORT_STRIKE = Story(
    path="/harbor/2026/11/port-strike-ends.html",
    outlet=HARBOR,
    headline="Dockworkers end nine-day strike at the Port of Ellisport",
    published=date(2026, 11, 18),
    author="Maria Okafor",
    paragraphs=(
        "Dockworkers at the Port of Ellisport returned to work on Wednesday after their union accepted "
        "a four-year contract that raises wages by 14 percent and limits automated cranes at two terminals.",
        "The nine-day strike had left more than forty container ships waiting offshore and cost local "
        "businesses an estimated 60 million dollars, according to the regional chamber of commerce.",
        "Union president Daniel Reyes said members voted 812 to 139 in favour of the deal, which also "
        "guarantees that no current worker will lose a job to automation before 2030.",
        "Port director Helen Vasquez said the backlog of ships would be cleared within two weeks and "
        "thanked federal mediators who joined the talks on Sunday.",
    ),
    related=("Ferry operator posts record summer", "Harbor dredging plan delayed again"),
)

BUDGET = Story(
    path="/harbor/2026/11/council-budget.html",
    outlet=HARBOR,
    headline="Ellisport council approves 2027 budget with transit boost",
    published=date(2026, 11, 19),
    author="James Whitfield",
    paragraphs=(
        "The Ellisport city council approved a 2027 budget of 1.2 billion dollars on Tuesday night, "
        "including an extra 45 million dollars for buses and the harbour ferry service.",
        "The budget passed by seven votes to two after a four-hour debate in which opponents argued "
        "that the transit money should have gone to road repairs in the northern districts.",
        "Mayor Priya Natarajan said the increase would allow buses to run every ten minutes on the "
        "five busiest routes from March, and would fund two new electric ferries.",
        "Property taxes will rise by 2.5 percent, the smallest increase in six years.",
    ),
)

BRIDGE = Story(
    path="/harbor/2026/11/bridge-reopens.html",
    outlet=HARBOR,
    headline="Kessler Bridge reopens after fourteen months of repairs",
    published=date(2026, 11, 20),
    author="Maria Okafor",
    paragraphs=(
        "The Kessler Bridge reopened to traffic on Thursday morning, fourteen months after engineers "
        "closed it when inspectors found corroded cables beneath the eastern span.",
        "The repairs cost 38 million dollars, about 9 million more than first estimated, the state "
        "transport department said, blaming the price of steel and two months of winter delays.",
        "About 52,000 vehicles crossed the bridge each day before it closed, and the detour through "
        "the harbour tunnel added up to forty minutes to commutes from the western suburbs.",
    ),
)

BRIDGE_CORRECTED = Story(
    path=BRIDGE.path,
    outlet=HARBOR,
    headline=BRIDGE.headline,
    published=BRIDGE.published,
    modified=date(2026, 11, 22),
    author=BRIDGE.author,
    paragraphs=(
        *BRIDGE.paragraphs,
        "Correction: an earlier version of this article said the bridge closed for sixteen months. "
        "It was closed for fourteen months, and the toll will stay suspended until January.",
    ),
)

WIRE_HARBOR = Story(
    path="/harbor/2026/11/rhine-drought.html",
    outlet=HARBOR,
    headline="Drought cuts Rhine barge traffic to a record low",
    published=date(2026, 11, 21),
    author="AFP",
    paragraphs=_WIRE,
)

WIRE_COURIER = Story(
    path="/courier/world/rhine-drought-barges.html",
    outlet=COURIER,
    headline="Rhine barges stranded as drought sends river to record low",
    published=date(2026, 11, 21),
    author="Agence France-Presse",
    paragraphs=(
        "Cargo traffic on the Rhine fell to its lowest level on record this week as a months-long "
        "drought left Europe's busiest river too shallow for fully loaded barges, shipping operators said.",
        *_WIRE[1:],
        "Valley Grain, which ships wheat from the region to Rotterdam, said it had moved part of its "
        "exports to rail while the river stays low.",
    ),
)

FERRY = Story(
    path="/harbor/2026/11/ferry-contract.html",
    outlet=HARBOR,
    headline="City signs twelve-year contract for electric ferries",
    published=date(2026, 11, 22),
    author="James Whitfield",
    paragraphs=(
        "Ellisport signed a twelve-year contract on Saturday with the shipbuilder Nordvik for two "
        "battery-powered ferries, the first of which is due to enter service in the spring of 2028.",
        "Each vessel will carry 300 passengers and charge at the terminal in eight minutes, cutting the "
        "harbour ferry's diesel use by about 1.1 million litres a year, the city said.",
        "The contract is worth 64 million dollars, including maintenance, and is funded partly by the "
        "transit money the council approved on Tuesday.",
    ),
)

LIBRARY = Story(
    path="/courier/local/library-hours.html",
    outlet=COURIER,
    headline="Valley libraries extend weekend opening hours",
    published=date(2026, 11, 17),
    author="Tom Adeyemi",
    paragraphs=(
        "The four public libraries in the Valley will stay open until eight in the evening on Saturdays "
        "and Sundays from December, the county library board decided on Monday.",
        "The longer hours are paid for by a state grant of 400,000 dollars and will be reviewed after a "
        "year, board chair Alice Moreno said.",
        "Visits to the libraries rose by a fifth last year, driven by students and job seekers using "
        "the computer rooms.",
    ),
)

#: Edition 1 of the site; edition 2 corrects the bridge story and publishes the ferry story.
EDITION_1 = (PORT_STRIKE, BUDGET, BRIDGE, WIRE_HARBOR, WIRE_COURIER, LIBRARY)
EDITION_2 = (PORT_STRIKE, BUDGET, BRIDGE_CORRECTED, WIRE_HARBOR, WIRE_COURIER, LIBRARY, FERRY)
ALL_STORIES = (*EDITION_1, FERRY, BRIDGE_CORRECTED)
