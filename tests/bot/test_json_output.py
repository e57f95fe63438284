"""bot.json_output: ``search --json`` rows name a passage's collapsed copies and their outlets."""

from __future__ import annotations

import json

from bot.json_output import dumps, hits_json
from retrieval.models import Passage, SearchHit


def test_a_row_lists_the_copies_and_the_other_outlets() -> None:
    passage = Passage("k1", "wire/1", "Tolls rise", "Tolls rise.", 0, 11, outlet="Wire")
    hit = SearchHit(passage, 0.5, also_in=("courier/1", "herald/1"), also_outlets=("Courier", "Herald"))
    row = json.loads(dumps(hits_json([hit])))[0]
    assert (row["also_in"], row["also_outlets"]) == (["courier/1", "herald/1"], ["Courier", "Herald"])
    alone = hits_json([SearchHit(passage, 0.5)])[0]
    assert (alone["also_in"], alone["also_outlets"]) == ([], [])
