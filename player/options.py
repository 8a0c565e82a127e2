"""What the CLI's commands share: the one error handler; the options, defined once as
decorators, and what they become (the app's `Voicing` and `Timing`); JSON or lines out, a
progress bar, and one-time warnings."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path

import click

from player import app
from player.errors import GuidedError, UsageProblem
from player.limits import DEFAULT_NAMES, DEFAULT_RATE, ENGINES, MINUTES_RANGE, PAUSE_SCALE_RANGE, RATE_RANGE

log = logging.getLogger("player")


class GuidedGroup(click.Group):
    """Maps the project's errors to one line, Ctrl-C to exit 130, a closed pipe to silence."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageProblem as exc:
            raise click.UsageError(str(exc), ctx) from None
        except GuidedError as exc:
            log.debug("the command failed", exc_info=True)
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nStopped.", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # `guided list | head`: the reader has gone, so has the output
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)


def _name(ctx, param, value):
    from player.errors import BadName
    from player.timeline import check_name

    try:
        return check_name(value)
    except BadName as exc:
        raise click.BadParameter(str(exc)) from None


def engine_option(f):
    return click.option("--engine", type=click.Choice(ENGINES), default="pyttsx3", show_default=True,
                        envvar="GUIDED_ENGINE",
                        help="Speech engine (env GUIDED_ENGINE). piper needs the 'natural' extra.")(f)


def voice_options(f):
    """--engine, --voice, --rate, --volume: passed on as one `voicing`."""
    f = click.option("--volume", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                     help="Speech volume, 0 to 1.")(f)
    f = click.option("--rate", type=click.IntRange(*RATE_RANGE), default=DEFAULT_RATE, show_default=True,
                     help="Speaking rate in words per minute.")(f)
    f = click.option("--voice", metavar="ID", help="Voice id or name (see 'guided voices').")(f)
    return engine_option(f)


def timing_options(f):
    """--pause-scale, --partner-a, --partner-b, --minutes, --first: passed on as one `timing`."""
    f = click.option("--minutes", type=click.FloatRange(*MINUTES_RANGE), metavar="N",
                     help="Fit the session to about N minutes by scaling its silences (not with --pause-scale).")(f)
    f = click.option("--partner-b", default=DEFAULT_NAMES[1], show_default=True, callback=_name,
                     help="Name spoken for partner B.")(f)
    f = click.option("--partner-a", default=DEFAULT_NAMES[0], show_default=True, callback=_name,
                     help="Name spoken for partner A.")(f)
    f = click.option("--pause-scale", type=click.FloatRange(*PAUSE_SCALE_RANGE), default=1.0,
                     show_default=True, metavar="F",
                     help="Scale every timed silence (0.05 to 5); speech is never stretched.")(f)
    f = click.option("--first", type=click.Choice(["a", "b"]), default="a", show_default=True,
                     help="Who begins the session's turns: partner a or b.")(f)
    return f


def ambience_option(f):
    return click.option("--ambience", metavar="FILE|noise",
                        help="A quiet bed under the session: 'noise' (soft generated noise) or an audio "
                             "file, looped, about 20 dB under the voice.")(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def global_options(f):
    """--cache-dir and --debug, on the `guided` group itself (see begin)."""
    f = click.option("--debug", is_flag=True, help="Show what happens on stderr, and the traceback of any failure.")(f)
    return click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Where spoken clips are cached (default: audio_cache/ in a checkout, else the "
                             "user cache folder; env GUIDED_CACHE_DIR).")(f)


def begin(cache_dir: Path | None, debug: bool) -> None:
    """Before any command: the log on stderr with --debug, and where the clips are kept."""
    from player.paths import cache_dir as chosen_cache_dir

    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
    ctx = click.get_current_context()
    ctx.ensure_object(dict)
    ctx.obj["cache_dir"] = chosen_cache_dir(cache_dir)


def workspace() -> app.Workspace:
    """The command's clip folder, and its engine factory (a test may put one in ctx.obj)."""
    obj = click.get_current_context().find_root().obj
    return app.Workspace(obj["cache_dir"], obj.get("engines") or app.default_engines)


def voicing(kw: dict) -> app.Voicing:
    """The voice options, taken out of a command's keyword arguments."""
    return app.Voicing(kw.pop("engine"), kw.pop("voice"), kw.pop("rate"), kw.pop("volume"))


def choices(kw: dict) -> tuple[app.Voicing, app.Timing]:
    """The voicing and timing options, taken out of a command's keyword arguments."""
    voicing_ = voicing(kw)
    timing = app.Timing(kw.pop("partner_a"), kw.pop("partner_b"), kw.pop("pause_scale"), kw.pop("minutes"),
                        kw.pop("first"))
    return voicing_, timing


@contextlib.contextmanager
def progress_bar(total: int, label: str):
    """A progress bar on a terminal; nothing otherwise (an app.ProgressFactory)."""
    if not sys.stderr.isatty() or total == 0:
        yield lambda n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def echo_lines(lines: list[str]) -> None:
    click.echo("\n".join(lines))


def show_result(as_json: bool, data, lines: list[str]) -> None:
    """--json: `data` as JSON; otherwise the lines for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        echo_lines(lines)


def warn_once():
    """A warning callback that prints only its first message: one problem, said once."""
    warned = []

    def warn(message: str) -> None:
        if not warned:
            warned.append(message)
            click.echo(f"Warning: {message}", err=True)

    return warn


def print_checks(results: list[app.Checked]) -> None:
    """`guided validate`: a line for each valid script on stdout, each one's problems on stderr,
    and exit 1 when any has problems."""
    for checked in results:
        if checked.problems:
            click.echo(checked.problems, err=True)
        else:
            click.echo(f"{checked.path}: valid ({checked.steps} steps)")
    failed = sum(1 for checked in results if checked.problems)
    if failed:
        raise click.ClickException(f"{failed} of {len(results)} scripts have problems")
