"""The Option declaration (see the package docstring) and what is generated from it."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from classifier.flag_types import str2bool

ALL_COMMANDS = frozenset({"train", "distill", "pretrain"})
_UNSET: Any = object()


@dataclass(frozen=True)
class Option:
    """One setting's flag and checks; its name and default are the dataclass field's."""

    help: str = ""
    parse: Callable[[str], Any] | None = None  # argparse ``type`` (classifier.flag_types)
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], bool] | None = None  # the config's validation of a value
    message: str = ""  # the ValueError the config raises when ``check`` fails
    commands: frozenset[str] = ALL_COMMANDS  # the command lines that have the flag
    group: str = "training"  # the --help section
    flag_defaults: Mapping[str, Any] = field(default_factory=dict)  # command -> flag default
    boolean: bool = False  # --flag, --flag=true, --flag=false (absl style)
    flags: tuple[str, ...] = ()  # the spellings, when not --<field name> (the first is shown)
    required: bool = False  # the command refuses to run without it
    env: str | None = None  # an environment variable that, when set, is the flag's default

    def check_value(self, value: Any) -> None:
        if self.choices is not None and value is not None and value not in self.choices:
            raise ValueError(self.message or f"must be one of {self.choices}")
        if self.check is not None and not self.check(value):
            raise ValueError(self.message)


def option(default: Any = _UNSET, help: str = "", *, default_factory: Any = _UNSET, **kwargs):
    """A dataclass field declaring one setting (kwargs: Option's fields)."""
    metadata = {"option": Option(help=help, **kwargs)}
    if default_factory is not _UNSET:
        return field(default_factory=default_factory, metadata=metadata)
    if default is _UNSET:  # a setting every caller must give
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


def options_of(config_class: type) -> Iterator[tuple[dataclasses.Field, Option]]:
    """The fields of ``config_class`` declared with ``option``, in declaration order."""
    for f in dataclasses.fields(config_class):
        declared = f.metadata.get("option")
        if declared is not None:
            yield f, declared


def validate(config: Any) -> None:
    """Raises the ValueError of the first field whose value its Option refuses."""
    for f, declared in options_of(type(config)):
        declared.check_value(getattr(config, f.name))


def _flag_default(f: dataclasses.Field, declared: Option, command: str) -> Any:
    if declared.env and os.environ.get(declared.env):
        return os.environ[declared.env]
    if command in declared.flag_defaults:
        return declared.flag_defaults[command]
    if f.default is dataclasses.MISSING:
        return None
    return f.default


def add_flags(
    parser: argparse.ArgumentParser,
    config_class: type,
    command: str,
    groups: dict[str, Any] | None = None,
    sections: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """One ``--name`` per field of ``config_class`` that ``command`` has, in the --help
    sections the fields name; returns the sections by title (``groups``: sections made
    before, reused when a field names one) so the caller can add its own flags to them.
    ``sections``: only the fields of these sections (the caller adds others' flags between)."""
    groups = {} if groups is None else groups
    for f, declared in options_of(config_class):
        if command not in declared.commands:
            continue
        if sections is not None and declared.group not in sections:
            continue
        if declared.group not in groups:
            groups[declared.group] = parser.add_argument_group(declared.group)
        group = groups[declared.group]
        default = _flag_default(f, declared, command)
        kwargs: dict[str, Any] = {"default": default}
        if declared.help:
            kwargs["help"] = declared.help
        names = declared.flags or (f"--{f.name}",)
        if declared.flags:
            kwargs["dest"] = f.name
        if declared.required:
            kwargs = {"required": True, **{k: v for k, v in kwargs.items() if k != "default"}}
        if declared.boolean:
            group.add_argument(
                *names, type=str2bool, nargs="?", const=True, metavar="true|false", **kwargs
            )
            continue
        if declared.parse is not None:
            kwargs["type"] = declared.parse
        if declared.choices is not None:
            kwargs["choices"] = declared.choices
        group.add_argument(*names, **kwargs)
    return groups


def flag_values(args: argparse.Namespace, config_class: type, command: str) -> dict[str, Any]:
    """The parsed values of the fields ``command`` has (a suppressed flag that was not given
    is left out, so the config's default applies)."""
    return {
        f.name: getattr(args, f.name)
        for f, declared in options_of(config_class)
        if command in declared.commands and hasattr(args, f.name)
    }


def flag_table(config_class: type, command: str) -> str:
    """The Markdown table of the flags ``command`` has: flag, default, values, what it does."""
    rows = ["| flag | default | values | what it does |", "|---|---|---|---|"]
    for f, declared in options_of(config_class):
        if command not in declared.commands:
            continue
        default = _flag_default(f, declared, command) if not declared.env else f.default
        shown = "" if default is None or default is argparse.SUPPRESS else f"`{default}`"
        if declared.required:
            shown = "required"
        elif declared.env:
            shown = f"`${declared.env}`"
        if declared.choices is not None:
            values = ", ".join(f"`{c}`" for c in declared.choices)
        elif declared.boolean:
            values = "true / false"
        else:
            values = getattr(declared.parse, "accepts", "")
        text = declared.help.replace("%%", "%").replace("|", "\\|")
        names = ", ".join(f"`{name}`" for name in declared.flags or (f"--{f.name}",))
        rows.append(f"| {names} | {shown} | {values} | {text} |")
    return "\n".join(rows) + "\n"
