"""config.errors: the one line a user sees for an error or a warning."""

from __future__ import annotations

import pytest

from config.errors import escape_controls, one_line


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("corpus folder /tmp/\x1b[31mnope does not exist", "corpus folder /tmp/\\x1b[31mnope does not exist"),
        ("skipped bad\nname.txt: the file is empty", "skipped bad name.txt: the file is empty"),
        ("a\x1b]0;title\x07b \x9b2J c\x00", "a\\x1b]0;title\\x07b \\x9b2J c\\x00"),
        ("  spaced\t\tout\r\n ", "spaced out"),
    ],
)
def test_one_line_folds_whitespace_and_writes_control_characters_out(text: str, shown: str) -> None:
    assert one_line(ValueError(text)) == shown


def test_an_error_with_no_message_is_named_by_its_type() -> None:
    assert one_line(TimeoutError()) == "TimeoutError"


def test_escape_controls_keeps_what_it_is_told_to() -> None:
    assert escape_controls("a\nb\tc\x1bd") == "a\nb\tc\\x1bd"
    assert escape_controls("a\nb", keep="") == "a\\x0ab"
