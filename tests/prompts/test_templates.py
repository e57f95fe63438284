"""Prompt templates: the shipped files load, and broken files fail naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompts.citations import CANNOT_ANSWER
from prompts.templates import TEMPLATE_DIR, TemplateError, load_prompts, load_template

GOOD = """\
name: answer
description: test
variables: [today, question, passages, cannot_answer, max_sentences]
system: "Today {today}; say {cannot_answer}; {max_sentences} sentences."
user: "{passages} {question}"
"""


def write(tmp_path: Path, text: str, name: str = "answer") -> Path:
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_shipped_templates_load_and_validate():
    prompts = load_prompts()
    assert prompts.answer.name == "answer"
    assert prompts.followup.name == "followup"


def test_answer_prompt_states_the_rules_the_issue_asks_for():
    [system, user] = load_prompts().answer.render(
        today="2026-11-23",
        question="Who met?",
        passages='<passage key="P1">text</passage>',
        cannot_answer=CANNOT_ANSWER,
        max_sentences=4,
    )
    assert CANNOT_ANSWER in system["content"]
    assert "2026-11-23" in system["content"] and "2026-11-23" in user["content"]
    assert "ignore previous instructions" in system["content"]
    assert "Valid:" in system["content"] and "Invalid:" in system["content"]
    assert '<passage key="P1">' in user["content"]


def test_rendered_values_are_not_parsed_as_placeholders():
    [_, user] = load_prompts().followup.render(history="{question}", question="{0} {x.y}")
    assert "{question}" in user["content"] and "{0} {x.y}" in user["content"]


def test_a_good_file_loads(tmp_path: Path):
    assert load_template("answer", write(tmp_path, GOOD)).variables[0] == "today"


def test_unknown_field_fails_naming_the_file_and_field(tmp_path: Path):
    with pytest.raises(TemplateError, match=r"answer\.yaml: unknown field 'temperature'"):
        load_template("answer", write(tmp_path, GOOD + "temperature: 0.2\n"))


def test_missing_field_fails_naming_the_file(tmp_path: Path):
    text = GOOD.replace('user: "{passages} {question}"\n', "")
    with pytest.raises(TemplateError, match=r"answer\.yaml: missing field 'user'"):
        load_template("answer", write(tmp_path, text))


def test_a_variable_the_code_needs_but_the_file_lacks_fails(tmp_path: Path):
    text = GOOD.replace("today, ", "").replace("Today {today}; ", "")
    with pytest.raises(TemplateError, match=r"answer\.yaml: missing variable\(s\) \['today'\]"):
        load_template("answer", write(tmp_path, text))


def test_an_undeclared_placeholder_fails(tmp_path: Path):
    text = GOOD.replace("{question}", "{question} {outlet}")
    with pytest.raises(TemplateError, match=r"answer\.yaml: uses \['outlet'\]"):
        load_template("answer", write(tmp_path, text))


def test_a_declared_but_unused_variable_fails(tmp_path: Path):
    text = GOOD.replace(" {question}", "")
    with pytest.raises(TemplateError, match=r"answer\.yaml: declares \['question'\]"):
        load_template("answer", write(tmp_path, text))


def test_placeholder_with_attribute_access_fails(tmp_path: Path):
    text = GOOD.replace("{question}", "{question.__class__}")
    with pytest.raises(TemplateError, match="must be a plain name"):
        load_template("answer", write(tmp_path, text))


def test_name_must_match_the_file(tmp_path: Path):
    with pytest.raises(TemplateError, match=r"'name' is 'answer' but the file is other\.yaml"):
        load_template("other", write(tmp_path, GOOD, name="other"))


def test_invalid_yaml_fails_naming_the_file(tmp_path: Path):
    with pytest.raises(TemplateError, match=r"answer\.yaml: cannot be read as YAML"):
        load_template("answer", write(tmp_path, "name: [unclosed\n"))


def test_missing_file_fails_naming_it(tmp_path: Path):
    with pytest.raises(TemplateError, match=r"followup\.yaml: template file does not exist"):
        load_prompts(write(tmp_path, GOOD))


def test_render_with_a_missing_value_fails_naming_the_file():
    template = load_template("followup", TEMPLATE_DIR)
    with pytest.raises(TemplateError, match=r"followup\.yaml: render\(\) got wrong variables"):
        template.render(question="q")
