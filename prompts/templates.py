"""Prompt templates: YAML files under ``prompts/templates/``, validated when they are loaded.

A template declares the variables it uses; loading fails with a message naming the file when
a field is unknown, a placeholder is undeclared, a declared variable is unused, or the code
needs a variable the template lacks. Load them once at start-up with :func:`load_prompts`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.errors import UserError

TEMPLATE_DIR = Path(__file__).with_name("templates")

#: The variables the code fills in, per template; a template must use exactly these.
REQUIRED_VARIABLES: dict[str, frozenset[str]] = {
    "answer": frozenset({"today", "question", "passages", "cannot_answer", "max_sentences"}),
    "followup": frozenset({"history", "question"}),
}


class TemplateError(UserError, ValueError):
    """A template file that cannot be used; the message names the file and the problem."""


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class PromptTemplate(BaseModel):
    """One prompt: a system and a user message with ``{variable}`` placeholders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Template name; matches the file name.")
    description: str = Field(min_length=1, description="What the prompt is for.")
    variables: tuple[str, ...] = Field(description="Every placeholder the messages use.")
    system: str = Field(min_length=1, description="System message.")
    user: str = Field(min_length=1, description="User message.")
    source: str = Field("", description="File the template was loaded from (set by the loader).")

    def render(self, **values: object) -> list[ChatMessage]:
        """The messages with every placeholder filled; values are inserted as plain text."""
        missing = set(self.variables) - values.keys()
        extra = values.keys() - set(self.variables)
        if missing or extra:
            raise TemplateError(
                f"{self.source or self.name}: render() got wrong variables "
                f"(missing {sorted(missing)}, unexpected {sorted(extra)})"
            )
        text = {k: str(v) for k, v in values.items()}
        return [
            {"role": "system", "content": self.system.format_map(text)},
            {"role": "user", "content": self.user.format_map(text)},
        ]


@dataclass(frozen=True, slots=True)
class Prompts:
    """Every template the answerers use, loaded and checked once."""

    answer: PromptTemplate
    followup: PromptTemplate


def placeholders(text: str, source: str) -> set[str]:
    """The ``{name}`` placeholders in ``text``; ``{{`` and ``}}`` are literal braces."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"{source}: bad placeholder syntax: {exc}") from None
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if not field_name.isidentifier() or spec or conversion:
            raise TemplateError(
                f"{source}: placeholder {{{field_name}}} must be a plain name "
                "(no attribute access, index, format spec or conversion)"
            )
        names.add(field_name)
    return names


def _explain(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(f for f in PromptTemplate.model_fields if f != "source")
        return f"{source}: unknown field '{where}' (allowed: {allowed})"
    if first["type"] == "missing":
        return f"{source}: missing field '{where}'"
    return f"{source}: field '{where}': {first['msg']}"


def _read(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{path}: template file does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}: cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: a template must be a mapping of fields")
    if "source" in data:
        raise TemplateError(f"{path}: unknown field 'source' (it is set by the loader)")
    return data


def _check_variables(template: PromptTemplate, expected: frozenset[str] | None) -> None:
    source = template.source
    declared = set(template.variables)
    if len(declared) != len(template.variables):
        raise TemplateError(f"{source}: 'variables' lists a name twice")
    used = placeholders(template.system, source) | placeholders(template.user, source)
    if undeclared := sorted(used - declared):
        raise TemplateError(f"{source}: uses {undeclared} but 'variables' does not declare them")
    if unused := sorted(declared - used):
        raise TemplateError(f"{source}: declares {unused} but never uses them")
    if expected is None:
        return
    if missing := sorted(expected - declared):
        raise TemplateError(f"{source}: missing variable(s) {missing}; the code fills in {sorted(expected)}")
    if unknown := sorted(declared - expected):
        raise TemplateError(
            f"{source}: unknown variable(s) {unknown}; the code fills in only {sorted(expected)}"
        )


def load_template(
    name: str, directory: Path = TEMPLATE_DIR, expected: frozenset[str] | None = None
) -> PromptTemplate:
    """Load ``directory/name.yaml`` and check its fields and variables."""
    path = directory / f"{name}.yaml"
    data = _read(path)
    try:
        template = PromptTemplate.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        raise TemplateError(_explain(exc, str(path))) from None
    if template.name != name:
        raise TemplateError(f"{path}: 'name' is {template.name!r} but the file is {name}.yaml")
    _check_variables(template, expected if expected is not None else REQUIRED_VARIABLES.get(name))
    return template


def load_prompts(directory: Path = TEMPLATE_DIR) -> Prompts:
    """Every template the answerers need, validated; call once at start-up."""
    return Prompts(
        answer=load_template("answer", directory),
        followup=load_template("followup", directory),
    )


__all__ = [
    "REQUIRED_VARIABLES",
    "TEMPLATE_DIR",
    "ChatMessage",
    "PromptTemplate",
    "Prompts",
    "TemplateError",
    "load_prompts",
    "load_template",
]
