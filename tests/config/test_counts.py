import pytest

from config.counts import counted


@pytest.mark.parametrize(
    ("n", "noun", "plural", "expected"),
    [
        (0, "article", None, "0 articles"),
        (1, "article", None, "1 article"),
        (2, "passage", None, "2 passages"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_a_count_is_said_with_a_singular_noun_only_for_one(n, noun, plural, expected):
    assert counted(n, noun, plural) == expected
