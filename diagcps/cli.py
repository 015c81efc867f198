"""The command line: ``diagcps check | readers | replay | demo | show | summary``.

Heavy modules (rich, cryptography, pyscard) are imported inside the commands that need them, so
that ``diagcps --help`` and ``--version`` start as fast as click itself.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from diagcps._version import __version__
from diagcps.help_text import LocalisedHelp
from diagcps.safe_text import printable
from diagcps.usage_errors import Said

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_TOOL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: Nothing failed, but a verdict rests on fewer checks than a whole run (ids or --skip given).
EXIT_PARTIAL = 4
DEFAULT_TIMEOUT = 5.0


def default_lang(env: dict[str, str] | None = None) -> str:
    """English when the locale says English; French otherwise (the users' language)."""
    env = dict(os.environ) if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var)
        if value:
            return "en" if value.lower().startswith("en") else "fr"
    return "fr"


def lang_in_args(args: list[str]) -> str | None:
    """The ``--lang`` given on the command line, read before click parses it: errors found while
    parsing must already speak the chosen language."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args) and args[i + 1] in ("fr", "en"):
            return args[i + 1]
        if arg.startswith("--lang=") and arg[7:] in ("fr", "en"):
            return arg[7:]
    return None


def _said(key: str, lang: str, **fields: Any) -> str:
    """One line in ``lang``, from the messages catalogue; its fields may come from outside (a
    path, a reader's name), so the line is made printable."""
    from diagcps import messages

    line = messages.msg("cli.prefix", lang) + messages.msg(key, lang, **fields)
    return printable(" ".join(line.split()))


def _say(key: str, lang: str, **fields: Any) -> None:
    """One line on stderr, in ``lang``, from the messages catalogue."""
    click.echo(_said(key, lang, **fields), err=True)


#: The language the command line asked for, read before parsing (see lang_in_args).
_ARGS_LANG: list[str] = []


def _ctx_lang(ctx: click.Context | None) -> str:
    while ctx is not None:
        if ctx.params.get("lang"):
            return str(ctx.params["lang"])
        ctx = ctx.parent
    return _ARGS_LANG[0] if _ARGS_LANG else default_lang()


def _lang_option(func: Any) -> Any:
    return click.option("--lang", type=click.Choice(["fr", "en"]), default=None,
                        help="Language of the messages (default: from the locale, else French).")(
        func)


def _file_to_write(ctx: Any, param: Any, value: str | None) -> str | None:
    """Refuse, before a diagnosis that may take seconds, a target that cannot be written or
    must not be replaced (a device, a symbolic link, a folder, a missing folder...)."""
    if value is None:
        return None
    from diagcps import messages
    from diagcps.outputs import OutputRefused, classify

    try:
        classify(value)
    except OutputRefused as exc:
        lang = _ctx_lang(ctx)
        option = param.opts[0] if param is not None else ""
        raise Said(printable(messages.msg("outputs.refused", lang, option=option,
                                          reason=exc.text(lang)))) from None
    return value


def _output_options(func: Any) -> Any:
    func = click.option("--json", "as_json", is_flag=True,
                        help="Print only the JSON report on stdout.")(func)
    func = click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
                        callback=_file_to_write,
                        help="Also write the JSON report to this file (for a support ticket); "
                             "'-' for standard output.")(
        func)
    func = click.option("--redact", is_flag=True,
                        help="Mask personal data (names, identifiers, serial numbers).")(func)
    # The date the diagnosis is judged at: a replay takes the recording's, "--now" alone
    # today's; a date pins it (reproducible reports: tests, golden files).
    func = click.option("--now", "now", is_flag=False, flag_value="today", default=None,
                        metavar="[DATE]", callback=_parse_now,
                        help="Judge dates as of today (replay: instead of the recording's "
                             "date), or as of DATE (YYYY-MM-DD).")(func)
    return _lang_option(func)


_TODAY = datetime(1, 1, 1, tzinfo=timezone.utc)  # "--now" given alone: today, said explicitly


def _parse_now(ctx: Any, _param: Any, value: str | None) -> datetime | None:
    from diagcps import messages

    if value is None:
        return None
    if value == "today":
        return _TODAY
    for pattern in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise Said(messages.msg("cli.bad_now", _ctx_lang(ctx), value=value))


class _Command(LocalisedHelp, click.Command):
    lang_of = staticmethod(lambda ctx: _ctx_lang(ctx))


class _Commands(LocalisedHelp, click.Group):
    """click's group, except for how a run ends: every error is one line in the chosen language
    (click's own usage errors included), Ctrl-C ends with a short message and exit code 130
    (click would print "Aborted!" and exit 1), SIGTERM with 143 and SIGHUP with 129, each after
    releasing the card. The same whether run as a command or through click's test runner.
    ``--help`` speaks the chosen language too."""

    command_class = _Command
    lang_of = staticmethod(lambda ctx: _ctx_lang(ctx))

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        lang = lang_in_args(argv) or default_lang()
        _ARGS_LANG[:] = [lang]
        try:
            code = super().main(argv, prog_name or "diagcps", complete_var,
                                standalone_mode=False, **extra)
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("", err=True)
            _say("cli.interrupted", lang)
            sys.exit(EXIT_INTERRUPTED)
        except _Terminated as exc:
            click.echo("", err=True)
            _say("cli.terminated", lang)
            sys.exit(128 + exc.signum)
        except click.ClickException as exc:
            from diagcps.usage_errors import one_line

            click.echo(one_line(exc, lang), err=True)
            sys.exit(exc.exit_code)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diagcps")
@click.option("--verbose", "-v", count=True,
              help="Log what the tool does on stderr: each APDU (personal data masked), each "
                   "check's start and end, errors with their traceback; -vv adds more.")
def main(verbose: int) -> None:
    """Diagnostic des cartes CPS et du poste de travail.

    Diagnoses French health professional cards (CPS3, CPS4) and the workstation around them,
    without ever spending a PIN try or writing to the card.
    """
    _configure_logging(verbose)
    _quiet_warnings(verbose)
    _filter_log_text()


class _PrintableLog:
    """A log filter: -v prints reader names, card answers and exception messages, which come
    from outside; they go through the same filter as every view (line feeds of a traceback
    kept)."""

    def filter(self, record: Any) -> bool:
        import logging

        record.msg, record.args = printable(record.getMessage(), lines=True), None
        if record.exc_info:
            record.exc_text = printable(logging.Formatter().formatException(record.exc_info),
                                        lines=True)
            record.exc_info = None
        return True


def _filter_log_text() -> None:
    import logging

    for name in ("diagcps", "apdu", "py.warnings"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, _PrintableLog) for f in handler.filters):
                handler.addFilter(_PrintableLog())


def _quiet_warnings(verbose: bool) -> None:
    """Library warnings (``cryptography`` on a certificate with a negative serial, for one) are
    about the data, not for the user's terminal: logged with -v, silent otherwise."""
    import logging

    logging.captureWarnings(True)
    logger = logging.getLogger("py.warnings")
    logger.handlers[:] = [logging.StreamHandler(sys.stderr) if verbose
                          else logging.NullHandler()]
    logger.propagate = False


def _configure_logging(verbose: int) -> None:
    """Logs go to stderr only when asked: by default a crashing check shows up in the report
    (status ``error``, with its traceback in the check's details), never as a traceback on the
    terminal or, worse, in the middle of ``--json`` output. ``-v``: APDUs, checks, errors;
    ``-vv``: also the details (non-personal answer data, PC/SC steps)."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    for name in ("diagcps", "apdu", "cardsim"):
        logger = logging.getLogger(name)
        handler: logging.Handler = logging.NullHandler()
        if verbose:
            # The stream is looked up at each record: stderr may be replaced (tests, pagers).
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter(
                "diagcps %(relativeCreated)7.0f ms %(levelname)-5s %(name)s: %(message)s"))
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


# --- check -------------------------------------------------------------------------------------

@main.command()
@click.argument("checks", nargs=-1)
@click.option("--skip", multiple=True, metavar="ID", help="Do not run this check (repeatable).")
@click.option("--list-checks", is_flag=True, help="List the checks and their ids, then exit.")
@click.option("--reader", metavar="TEXT", help="Only the reader whose name contains TEXT.")
@click.option("--record", type=click.Path(dir_okay=False, allow_dash=True),
              callback=_file_to_write,
              help="Write the APDU transcript of the card to this file.")
@click.option("--timeout", type=click.FloatRange(0.1, 120), default=DEFAULT_TIMEOUT,
              show_default=True, help="Bound, in seconds, of every wait on the service or card.")
@click.option("--virtual-card", "virtual_card", metavar="PROFILE", hidden=True,
              help="Diagnose a virtual card profile instead of the PC/SC readers.")
@click.option("--offline", is_flag=True, envvar="DIAGCPS_OFFLINE",
              help="Do not check access to Pro Santé Connect: nothing is sent on the network.")
@click.option("--network-time-limit", type=click.FloatRange(0.5, 60), default=3.0,
              show_default=True, help="Total time, in seconds, of the network checks.")
@_output_options
def check(checks: tuple[str, ...], skip: tuple[str, ...], list_checks: bool, reader: str | None,
          record: str | None, timeout: float, virtual_card: str | None, offline: bool,
          network_time_limit: float, as_json: bool,
          output: str | None, redact: bool, lang: str | None, now: datetime | None) -> None:
    """Diagnose the CPS card(s) and this workstation. CHECKS: ids to run (default: all)."""
    lang = lang or default_lang()
    if list_checks:
        _print_check_list(lang, as_json)
        return
    _refuse_shared_outputs({"--output": output, "--record": record}, {}, as_json, lang)
    if virtual_card:
        from diagcps.sources import VirtualSource

        card = _load_profile(virtual_card, lang)
        source: Any = VirtualSource({"Virtual card 00": card}, detail=virtual_card)
    else:
        from diagcps.sources import PcscSource

        source = PcscSource(timeout_s=timeout)
    from diagcps.network.endpoints import NetworkSettings

    network = NetworkSettings.from_environment(os.environ, offline=offline,
                                               time_limit_s=network_time_limit)
    _run(source, checks=checks, skip=skip, reader=reader, record=record, as_json=as_json,
         output=output, redact=redact, lang=lang, now=now, network=network)


@main.command()
@click.argument("transcript", type=click.Path(dir_okay=False))
@_output_options
def replay(transcript: str, as_json: bool, output: str | None, redact: bool,
           lang: str | None, now: datetime | None) -> None:
    """Diagnose a recorded transcript, as support reproduces a user's case."""
    from apdu.errors import TranscriptError
    from apdu.transcript import Transcript
    from diagcps.sources import ReplaySource

    lang = lang or default_lang()
    _refuse_shared_outputs({"--output": output}, {"TRANSCRIPT": transcript}, as_json, lang)
    try:
        recorded = Transcript.load(transcript)
    except TranscriptError as exc:
        detail = str(exc)
        for said in (f"{transcript}: ", f"{transcript} ", f" {transcript}"):
            detail = detail.replace(said, "")
        _say("cli.bad_transcript", lang, path=transcript, detail=detail)
        sys.exit(EXIT_USAGE)
    _run(ReplaySource(recorded, Path(transcript).name), checks=(), skip=(), reader=None,
         record=None, as_json=as_json, output=output, redact=redact, lang=lang, now=now)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the readers as JSON.")
@click.option("--timeout", type=click.FloatRange(0.1, 120), default=DEFAULT_TIMEOUT,
              show_default=True, help="Bound, in seconds, of the wait on the service.")
@_lang_option
def readers(as_json: bool, timeout: float, lang: str | None) -> None:
    """List the card readers, their state and the ATR of the card they hold."""
    from diagcps.sources import PcscSource, SourceError

    lang = lang or default_lang()
    try:
        found = PcscSource(timeout_s=timeout).readers()
    except SourceError as exc:
        _fail_listing(exc.code, str(exc), lang, as_json)
        return
    if not found:
        _fail_listing("NO_READER", "no reader", lang, as_json)
        return
    if as_json:
        click.echo(json.dumps({"readers": [
            {"name": r.name, "state": r.state, "atr": r.atr.hex().upper() if r.atr else None}
            for r in found]}, indent=2))
        return
    for r in found:
        atr = r.atr.hex(" ").upper() if r.atr else "-"
        click.echo(f"{printable(r.name)}\n    {_state_word(r.state, lang)}  ATR: {atr}")


def _fail_listing(code: str, message: str, lang: str, as_json: bool) -> None:
    import platform

    from diagcps import remedies

    if as_json:
        click.echo(json.dumps({"readers": [], "error": {"code": code, "message": message}},
                              indent=2))
    from diagcps import messages

    remedy = remedies.remedy_text(code, lang, platform.system()) or message
    line = (f"{messages.msg('cli.prefix', lang)}{code} : {' '.join(remedy.split())}"
            if lang == "fr" else f"diagcps: {code}: {' '.join(remedy.split())}")
    click.echo(printable(line), err=True)
    sys.exit(EXIT_FAIL)


def _state_word(state: str, lang: str) -> str:
    from diagcps import messages

    return messages.label("reader_state", state, lang, state) or state


@main.command()
@click.option("--profile", default="cps3-healthy", show_default=True,
              help="Card profile name (built in: see fixtures/README.md) or path to a profile "
                   "file.")
@_output_options
def demo(profile: str, as_json: bool, output: str | None, redact: bool,
         lang: str | None, now: datetime | None) -> None:
    """Run the whole diagnosis on a built-in virtual CPS card, through a private pcscd."""
    from cardsim.pcscd import PrivatePcscd
    from cardsim.vpcd import VpcdBridge
    from diagcps.sources import PcscSource

    lang = lang or default_lang()
    _refuse_shared_outputs({"--output": output}, {}, as_json, lang)
    card = _load_profile(profile, lang)
    ready, why = PrivatePcscd.available()
    if not ready:
        _say("cli.demo_unavailable", lang, why=why)
        sys.exit(EXIT_TOOL)
    with PrivatePcscd() as daemon:
        os.environ.update(daemon.env)
        with VpcdBridge(card, port=daemon.vpcd_port) as bridge:
            bridge.insert()
            _wait_for_card(daemon.reader_names[0], timeout_s=5.0)
            _run(PcscSource(), checks=(), skip=(), reader=None, record=None, as_json=as_json,
                 output=output, redact=redact, lang=lang, now=now)


def _load_profile(name: str, lang: str) -> Any:
    from diagcps.profiles import ProfileNotFound, load_profile

    try:
        return load_profile(name)
    except ProfileNotFound as exc:
        _say("cli.profile_missing", lang, name=name, known=", ".join(exc.known) or "-")
        sys.exit(EXIT_USAGE)


def _wait_for_card(reader: str, timeout_s: float) -> None:
    """pcscd sees a newly inserted card at its next presence poll (every 400 ms): wait for that
    event (SCardGetStatusChange), not in a loop. A card still absent after ``timeout_s`` is left
    to the diagnosis to report."""
    import contextlib

    from diagcps import pcsc

    with contextlib.suppress(pcsc.PcscError):
        pcsc.wait_for_reader(reader, {"present", "in_use"}, timeout_s)


# --- show, summary: the side of support and IT ------------------------------------------------

@main.command()
@click.argument("report", type=click.Path())
@_lang_option
def show(report: str, lang: str | None) -> None:
    """Show a received JSON report as its user saw it, in your language."""
    from diagcps.report.support_cli import show_report

    sys.exit(show_report(report, lang or default_lang()))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "output", flag_value="json", help="Print the summary as JSON.")
@click.option("--csv", "output", flag_value="csv", help="Print one CSV row per workstation.")
@_lang_option
def summary(paths: tuple[str, ...], output: str | None, lang: str | None) -> None:
    """Summarise the reports of many workstations (files or folders, recursively)."""
    from diagcps.report.support_cli import summarise_reports

    sys.exit(summarise_reports(paths, output or "table", lang or default_lang()))


def _refuse_shared_outputs(outputs_: dict[str, str | None], inputs: dict[str, str | None],
                           as_json: bool, lang: str) -> None:
    """One file per output, none on an input, one output on stdout: checked before anything
    runs (``replay s.json -o s.json`` would overwrite the very transcript it replays)."""
    from diagcps.outputs import STDOUT, OutputRefused, check_distinct

    try:
        if as_json:
            taken = [name for name, given in outputs_.items()
                     if given == STDOUT and name != "--output"]
            if taken:
                raise OutputRefused("both_stdout", option=taken[0])
        check_distinct(outputs_, inputs)
    except OutputRefused as exc:
        _say("outputs.refused_line", lang, reason=exc.text(lang))
        sys.exit(EXIT_USAGE)


# --- shared run --------------------------------------------------------------------------------

def _run(source: Any, *, checks: tuple[str, ...], skip: tuple[str, ...], reader: str | None,
         record: str | None, as_json: bool, output: str | None, redact: bool,
         lang: str, now: datetime | None = None, network: Any = None) -> None:
    from diagcps import messages, outputs
    from diagcps.checks.selection import UnknownCheck
    from diagcps.diagnosis import ReaderChoiceError, diagnose
    from diagcps.report.model import build_report

    pseudonyms = None
    if redact:
        from diagcps.report.redact import Pseudonyms

        pseudonyms = Pseudonyms()  # drawn for this run only, kept in memory only
    today = now is _TODAY
    try:
        with _progress(lang) as say:
            diagnosis = diagnose(source, reader_filter=reader, only=checks, skip=skip,
                                 record=bool(record), progress=say, network=network,
                                 now=datetime.now(timezone.utc) if today else now,
                                 pseudonyms=pseudonyms, raise_on_reader_choice=True)
    except UnknownCheck as exc:
        _say("cli.unknown_check", lang, ids=", ".join(exc.ids))
        sys.exit(EXIT_USAGE)
    except ReaderChoiceError as exc:
        key = "cli.reader_not_found" if exc.code == "READER_NOT_FOUND" else "cli.reader_ambiguous"
        names = " ; ".join(exc.readers) if lang == "fr" else "; ".join(exc.readers)
        _say(key, lang, wanted=exc.wanted, readers=names or messages.msg("cli.no_readers", lang))
        sys.exit(EXIT_USAGE)
    # Redaction protects the files; the person at the screen sees their own card in full.
    files = diagnosis.for_files or diagnosis
    report = build_report(files, lang=lang, redacted=redact)
    screen = build_report(diagnosis, lang=lang) if redact else report
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    # Files first, the view next, the failures last: what is on screen at the end is true.
    failures: list[str] = []
    stdout_text = text if as_json else None
    written: str | None = None
    if output:
        if output == outputs.STDOUT:
            stdout_text = text
        elif _write(output, text, failures, lang):
            written = output
    if record:
        if files.transcript is None:
            failures.append(_said("cli.no_transcript", lang))
        else:
            transcript = files.transcript
            # What support asks first travels with the recording: system, versions, Cryptolib.
            transcript.host = {k: v for k, v in report["host"].items()
                               if k != "origin" and (v is None or isinstance(v, (str, bool)))}
            saved = json.dumps(transcript.to_json(), indent=2) + "\n"
            if record == outputs.STDOUT:
                stdout_text = saved
            else:
                _write(record, saved, failures, lang)
    code = exit_code(report)
    if stdout_text is not None:
        _stdout(stdout_text)
    if not as_json:
        from rich.console import Console

        from diagcps.report.terminal import render

        # When standard output carries a file (-o -), the view goes to stderr.
        to_stderr = stdout_text is not None
        stream = sys.stderr if to_stderr else sys.stdout
        if stream is not None:

            class _ViewConsole(Console):
                def on_broken_pipe(self) -> None:
                    # rich would exit with 1: a reader that stopped early (| head -1) does not
                    # change what the diagnosis found.
                    self.quiet = True
                    _silence_stdout()

            try:
                render(screen, _ViewConsole(file=stream, highlight=False), output_path=written)
            except BrokenPipeError:
                _silence_stdout()
    for line in failures:
        click.echo(line, err=True)
    sys.exit(EXIT_USAGE if failures else code)


def _write(path: str, text: str, failures: list[str], lang: str) -> bool:
    """Write a file the user asked for (never replacing what is not a file of the user's own;
    atomically: never half a file, even on Ctrl-C); on failure (disk full, folder gone since the
    start, a link put in its place) note why and go on with the rest."""
    from diagcps import outputs

    try:
        outputs.write(outputs.Target(path, "file"), text)
    except outputs.OutputRefused as exc:
        failures.append(_said("cli.cannot_write", lang, path=path, reason=exc.text(lang)))
        return False
    except OSError as exc:
        failures.append(_said("cli.cannot_write", lang, path=path,
                              reason=str(exc.strerror or exc)))
        return False
    return True


def _stdout(text: str) -> None:
    """Standard output may be closed (``>&-``) or a pipe closed early (``| head -1``): what could
    not be shown is lost quietly, the exit code stays the diagnosis's."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as exc:
        if exc.errno not in (errno.EBADF, errno.EPIPE):
            raise
        _silence_stdout()


def _silence_stdout() -> None:
    """Point fd 1 to /dev/null, so that the interpreter's last flush does not fail again."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def exit_code(report: dict[str, Any]) -> int:
    """0: a whole diagnosis found nothing failing; 1: a check failed; 3: the tool failed;
    4: nothing failed, but some verdict rests on fewer checks than a whole run (check ids or
    ``--skip`` given): not a clean bill of health. A question the run did not ask at all (no
    workstation in a replay, no network with ``--offline``) is said by its verdict, "skipped"
    with the reason, and is no partial run: the other verdicts are whole."""
    statuses = {c["status"] for c in report["checks"]}
    if "error" in statuses:
        return EXIT_TOOL
    if "fail" in statuses:
        return EXIT_FAIL
    for verdict in (report.get("verdicts") or {}).values():
        if verdict.get("status") == "partial":
            return EXIT_PARTIAL
        # Not examined at all because the check ids given left it out.
        if verdict.get("status") == "skipped" and not verdict.get("complete", True) \
                and verdict.get("skipped_because", "not_selected") == "not_selected":
            return EXIT_PARTIAL
    return EXIT_OK


class _progress:
    """A spinner on stderr while the card is read, only when stderr is a terminal."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._status: Any = None

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return lambda _step: None
        from rich.console import Console

        from diagcps import messages

        self._status = Console(stderr=True).status(messages.msg("progress.reading", self.lang))
        self._status.start()
        return self._update

    def _update(self, step: str) -> None:
        from diagcps import messages

        if step.startswith("card:"):
            self._status.update(messages.msg("progress.reading_in", self.lang, reader=step[5:]))
        elif step == "checks":
            self._status.update(messages.msg("progress.checking", self.lang))

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()


def _print_check_list(lang: str, as_json: bool) -> None:
    from diagcps.checks.selection import ordered

    specs = ordered()
    if as_json:
        click.echo(json.dumps([{"id": s.id, "title": s.title.get(lang), "needs": list(s.needs)}
                               for s in specs], indent=2, ensure_ascii=False))
        return
    width = max(len(s.id) for s in specs)
    for spec in specs:
        click.echo(f"{spec.id:<{width}}  {spec.title.get(lang)}")


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, turned into an exception so that the card is released on the way out.

    Killed outright, the tool would leave its PC/SC connection open, and pcscd resets a card a
    dead client leaves connected (measured): another program's logged-in session would be lost.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, _frame: Any) -> None:
    raise _Terminated(signum)


def _handle_termination() -> None:
    import signal

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        # Only over the default action: a signal ignored on purpose (nohup) stays ignored.
        if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _terminate)


def run(args: list[str] | None = None) -> None:
    """Console entry point (see :class:`_Commands` for how a run ends)."""
    _handle_termination()
    main.main(args, prog_name="diagcps")
