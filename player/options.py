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
from player.errors import BadName, GuidedError, UsageProblem
from player.limits import (
    CAPTION_FORMATS,
    CORES,
    DEFAULT_NAMES,
    DEFAULT_RATE,
    ENGINES,
    EXPORT_FORMATS,
    MINUTES_RANGE,
    PAUSE_SCALE_RANGE,
    RATE_RANGE,
)

log = logging.getLogger("player")


class GuidedGroup(click.Group):
    """Maps the project's errors to one line, Ctrl-C to exit 130, a closed pipe to silence."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageProblem as exc:  # found by the app, past click's parsing: one line, exit 2
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except GuidedError as exc:
            log.debug("the command failed", exc_info=True)
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nStopped.", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # `guided list | head`: the reader has gone, so has the output
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)


def _as_parameter(check, value):
    """`check(value)`, with a name it refuses reported as the option's bad value."""
    try:
        return check(value)
    except BadName as exc:
        raise click.BadParameter(str(exc)) from None


def _name(ctx, param, value):
    from player.timeline import check_name

    return _as_parameter(check_name, value)


def engine_option(f):
    # No default here: app.engine_name resolves it (the saved preference, else the best installed),
    # so --help stays fast (nothing is looked for until a command runs).
    # GUIDED_ENGINE is read there too, so that `guided voices` can tell which engine is the default.
    return click.option("--engine", type=click.Choice(ENGINES), default=None, show_default="best installed",
                        help="Speech engine (env GUIDED_ENGINE; else 'guided config set engine NAME'; else piper "
                             "when it and a voice are installed, otherwise pyttsx3).")(f)


def sample_options(f):
    """--voice, --sample and -o for `guided voices`: hear a voice before choosing it."""
    f = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     help="With --sample: write it to this .wav file instead of playing it.")(f)
    f = click.option("--sample", metavar="TEXT", help="Speak TEXT in the voice (--voice, else the default).")(f)
    return click.option("--voice", metavar="ID", help="The voice to speak --sample in.")(f)


def config_arguments(f):
    f = click.argument("value", required=False)(f)
    f = click.argument("key", required=False)(f)
    return click.argument("action", type=click.Choice(["list", "get", "set", "unset"]))(f)


def tell(message: str) -> None:
    """A calm note on stderr (an engine fallen back to): not an error, not on stdout."""
    click.echo(message, err=True)


def voice_options(f):
    """--engine, --voice, --rate, --volume: passed on as one `voicing`."""
    f = click.option("--volume", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                     help="Speech volume, 0 to 1.")(f)
    f = click.option("--rate", type=click.IntRange(*RATE_RANGE), default=DEFAULT_RATE, show_default=True,
                     help="Speaking rate in words per minute.")(f)
    f = click.option("--voice", metavar="ID", help="Voice id or name (see 'guided voices').")(f)
    return engine_option(f)


def _spoken(ctx, param, value):
    from player.names import check_spoken

    return None if value is None else _as_parameter(check_spoken, value)


def timing_options(f):
    """--pause-scale, --partner-a, --partner-b, --say-a, --say-b, --minutes, --first: passed on as
    one `timing`."""
    f = click.option("--say-b", metavar="SOUNDS", callback=_spoken,
                     help="How the voice should say partner B's name, if it gets it wrong (e.g. \"zhahn-luke\"); "
                          "the name is still shown as typed.")(f)
    f = click.option("--say-a", metavar="SOUNDS", callback=_spoken,
                     help="How the voice should say partner A's name (e.g. \"shiv-awn\"); shown as typed.")(f)
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


def export_options(f):
    """-o, --all, --format and --captions for `guided export`."""
    f = click.option("--captions", type=click.Path(path_type=Path),
                     help=f"Also write captions: FILE.vtt or FILE.srt (with --all: {' or '.join(CAPTION_FORMATS)}).")(f)
    f = click.option("--format", "format_", type=click.Choice(EXPORT_FORMATS), show_default="mp3",
                     help="With --all: the format to write (one export takes it from -o's suffix).")(f)
    f = click.option("--all", "export_all", is_flag=True, help="Export every bundled session into the folder -o names.")(f)
    return click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
                        help="The file to write: .wav, .flac, .ogg or .mp3 (with --all: a folder, made if need be).")(f)


def jobs_option(f):
    return click.option("--jobs", type=click.IntRange(1, 64), default=CORES, show_default="every core, up to 8",
                        help="Cores to synthesize on: a worker process on each, for engines safe in parallel "
                             "(piper, espeak-ng); pyttsx3 uses one.")(f)


def play_options(f):
    """--from, --resume, --remember-names and --audio-driver for `guided play`."""
    f = click.option("--audio-driver", metavar="NAME", help="SDL audio driver to use (e.g. pulseaudio, alsa, disk).")(f)
    f = click.option("--remember-names", is_flag=True, help="Keep the partners' names in the practice history.")(f)
    f = click.option("--resume", is_flag=True, help="Continue the latest stopped play of this session where it stopped.")(f)
    return click.option("--from", "start", metavar="SECTION_OR_STEP",
                        help="Start at this section (its name) or step number.")(f)


def serve_options(f):
    """--host, --port, --lan, --no-open and --remember-names for `guided serve`."""
    f = click.option("--remember-names", is_flag=True, help="Keep the partners' names in the practice history.")(f)
    f = click.option("--no-open", is_flag=True, help="Do not open the page in a browser here.")(f)
    f = click.option("--lan", is_flag=True, help="Let phones on your network in, with a secret token in the "
                     "address (printed, with a QR code to scan).")(f)
    f = click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port to listen on.")(f)
    f = click.option("--host", metavar="H", help="Address to listen on (default 127.0.0.1; with --lan, every interface).")(f)
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
    return app.Workspace(obj["cache_dir"], obj.get("engines") or app.default_engines, tell)


def voicing(kw: dict) -> app.Voicing:
    """The voice options, taken out of a command's keyword arguments."""
    return app.Voicing(kw.pop("engine"), kw.pop("voice"), kw.pop("rate"), kw.pop("volume"))


def choices(kw: dict) -> tuple[app.Voicing, app.Timing]:
    """The voicing and timing options, taken out of a command's keyword arguments."""
    voicing_ = voicing(kw)
    timing = app.Timing(kw.pop("partner_a"), kw.pop("partner_b"), kw.pop("pause_scale"), kw.pop("minutes"),
                        first=kw.pop("first"), say_a=kw.pop("say_a"), say_b=kw.pop("say_b"))
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
