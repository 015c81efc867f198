"""click's usage errors, said again in the chosen language, on one line.

click words its errors in English, over several lines (usage, hint, error). A health professional
who asked for French gets French: the error's kind and facts (option, value, expected values)
are read from the exception and worded from the messages catalogue.
"""

from __future__ import annotations

import re

import click

from diagcps import messages


class Said(click.ClickException):
    """A usage error already worded in the chosen language (shown as it is, exit 2)."""

    exit_code = 2


def one_line(exc: click.ClickException, lang: str) -> str:
    """``diagcps: …`` for any click error, in ``lang``, on one line."""
    prefix = messages.msg("cli.prefix", lang)
    if isinstance(exc, Said):
        return prefix + _flat(exc.format_message())
    body = _usage(exc, lang) if isinstance(exc, click.UsageError) else None
    if body is None:
        body = messages.msg("usage.other", lang, detail=exc.format_message())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None and ctx.parent is not None:
        body += messages.msg("usage.help_hint", lang, command=ctx.info_name)
    return prefix + _flat(body)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _name(param: click.Parameter | None) -> str:
    if param is None:
        return "?"
    if isinstance(param, click.Option):
        return param.opts[0]
    return (param.human_readable_name or param.name or "?").upper()


def _usage(exc: click.UsageError, lang: str) -> str | None:
    if isinstance(exc, click.NoSuchOption):
        hint = ""
        if exc.possibilities:
            hint = messages.msg("usage.did_you_mean", lang,
                                options=", ".join(sorted(exc.possibilities)))
        return messages.msg("usage.no_such_option", lang, name=exc.option_name, hint=hint)
    if isinstance(exc, click.BadOptionUsage):
        return messages.msg("usage.needs_value", lang, name=exc.option_name)
    if isinstance(exc, click.MissingParameter):
        what = "usage.missing_option" if isinstance(exc.param, click.Option) \
            else "usage.missing_argument"
        return messages.msg("usage.missing", lang, what=messages.msg(what, lang),
                            name=_name(exc.param))
    if isinstance(exc, click.BadParameter):
        return _bad_value(exc, lang)
    text = exc.format_message()
    if match := re.match(r"No such command '([^']+)'", text):
        group = exc.ctx.command if exc.ctx is not None else None
        commands = ", ".join(sorted(getattr(group, "commands", {}) or {}))
        return messages.msg("usage.no_such_command", lang, name=match.group(1),
                            commands=commands)
    if match := re.match(r"Got unexpected extra arguments? \((.+)\)", text):
        return messages.msg("usage.extra_argument", lang, value=match.group(1))
    return None


def _bad_value(exc: click.BadParameter, lang: str) -> str:
    param = exc.param
    kind = getattr(param, "type", None)
    text = exc.message  # the type's own words, without click's "Invalid value for …" lead
    quoted = re.search(r"'(.*?)'", text) or re.search(r"(-?\d+(?:\.\d+)?) is not in the", text)
    value = quoted.group(1) if quoted else "?"
    if isinstance(kind, click.Path) and "is a directory" in text:
        return messages.msg("usage.is_folder", lang, name=_name(param), value=value)
    expected = ""
    if isinstance(kind, click.Choice):
        expected = messages.msg("usage.expected_choice", lang,
                                choices=", ".join(map(str, kind.choices)))
    elif isinstance(kind, (click.FloatRange, click.IntRange)):
        expected = messages.msg("usage.expected_range", lang, low=_num(kind.min),
                                high=_num(kind.max))
    elif isinstance(kind, click.DateTime):
        expected = messages.msg("usage.expected_date", lang)
    elif lang == "en":
        expected = f" ({text})"
    return messages.msg("usage.bad_value", lang, name=_name(param), value=value,
                        expected=expected)


def _num(value: float | int | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)
