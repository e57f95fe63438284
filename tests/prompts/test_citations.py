"""prompts.citations: a citation's JSON names the same story's copies and their other outlets."""

from __future__ import annotations

import json

from prompts.citations import Citation
from retrieval.models import Passage, SearchHit


def test_a_citation_of_a_collapsed_hit_lists_its_copies_and_other_outlets() -> None:
    passage = Passage("k1", "wire/1", "Tolls rise", "Tolls rise.", 0, 11, outlet="Wire")
    hit = SearchHit(passage, 0.5, also_in=("courier/1", "notes/tolls"), also_outlets=("Courier",))
    data = json.loads(json.dumps(Citation.of(1, hit, 0, 5).to_json()))
    assert (data["also_in"], data["also_outlets"]) == (["courier/1", "notes/tolls"], ["Courier"])
    assert Citation(2, "a/b", "T", "q", 0, 1).to_json()["also_outlets"] == []
