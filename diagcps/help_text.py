"""``--help`` in the chosen language: the commands' and options' help, and click's own words
("Usage:", "Options:", "Show this message and exit."), from the messages catalogue
(``[help.COMMAND]`` keyed by parameter name, ``_`` for the command itself). English is the text
written in the code; French replaces it at display time only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from diagcps import messages


def _help_table(command: str) -> dict[str, str]:
    return {k: v for k, v in messages.table("help").get(command, {}).items()
            if isinstance(v, str)}


@contextmanager
def _french(command: click.Command, key: str) -> Iterator[None]:
    """The command's and its parameters' help in French for the time of the block."""
    table = _help_table(key)
    saved: list[tuple[Any, str, Any]] = []

    def swap(obj: Any, attr: str, value: str | None) -> None:
        if value is not None:
            saved.append((obj, attr, getattr(obj, attr)))
            setattr(obj, attr, value)

    swap(command, "help", table.get("_"))
    swap(command, "short_help", table.get("_short"))
    for param in command.params:
        # By the option's own name first: two flags may fill one parameter (--json, --csv).
        own = next((o.lstrip("-").replace("-", "_") for o in getattr(param, "opts", ())
                    if o.startswith("--")), "")
        swap(param, "help", table.get(own) or table.get(param.name or "")
             or _common(param.name or ""))
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            sub_table = _help_table(name)
            swap(sub, "short_help", sub_table.get("_short"))
    try:
        yield
    finally:
        for obj, attr, value in reversed(saved):
            setattr(obj, attr, value)


def _common(name: str) -> str | None:
    return _help_table("common").get(name)


def _word(key: str, lang: str) -> str:
    return messages.msg(f"help_words.{key}", lang)


class LocalisedHelp:
    """Mixed into click's Command and Group: help shown in the language ``lang_of(ctx)``."""

    lang_of: Callable[[click.Context], str]

    def get_help(self, ctx: click.Context) -> str:
        lang = type(self).lang_of(ctx)
        if lang != "fr":
            return super().get_help(ctx)  # type: ignore[misc]
        key = self.name if ctx.parent is not None else "main"  # type: ignore[attr-defined]
        with _french(self, key or "main"):  # type: ignore[arg-type]
            return super().get_help(ctx)  # type: ignore[misc]

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = _word("help_option", type(self).lang_of(ctx))
        return option

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces),
                              prefix=_word("usage", type(self).lang_of(ctx)))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = type(self).lang_of(ctx)
        records = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            if isinstance(param, click.Argument):
                continue  # named in the usage line
            record = param.get_help_record(ctx)
            if record is not None:
                name, text = record
                if lang == "fr":
                    text = text.replace("[default: ", "[par défaut : ")
                if param.name == "version":
                    text = _word("version_option", lang)
                records.append((name, text))
        if records:
            with formatter.section(_word("options", lang)):
                formatter.write_dl(records)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = type(self).lang_of(ctx)
        rows = []
        for name in self.list_commands(ctx):  # type: ignore[attr-defined]
            command = self.get_command(ctx, name)  # type: ignore[attr-defined]
            if command is None or command.hidden:
                continue
            short = _help_table(name).get("_short") if lang == "fr" else None
            rows.append((name, short or command.get_short_help_str(formatter.width - 20)))
        if rows:
            with formatter.section(_word("commands", lang)):
                formatter.write_dl(rows)
