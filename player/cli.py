"""The `guided` command: options in, one library call per command, errors out as one line."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path

import click

from player import __version__
from player.ambience import Ambience, ambience_loop
from player.cache import ClipCache, RenderReport, VoicedCache, plan, start_ahead
from player.display import clock
from player.errors import GuidedError, ScriptError
from player.export import check_captions_target, check_target, export_session, write_playlist, write_text
from player.history import (
    History,
    HistoryUnavailable,
    calendar_lines,
    open_to_resume,
    recording,
    resume_step,
    script_hash,
)
from player.importer import to_yaml
from player.library import TEXT_SUFFIXES, bundled_paths, open_script, open_session, read_script
from player.paths import cache_dir
from player.script import load_session
from player.signals import stop_signals
from player.speech import DEFAULT_RATE, ENGINES, RATE_RANGE, VoiceSettings, get_engine
from player.starter import starter
from player.timeline import (
    PAUSE_SCALE_RANGE,
    SAMPLE_RATE,
    TimingOptions,
    build_timeline,
    check_name,
    find_start,
)

CONTEXT = {"help_option_names": ["-h", "--help"]}
# Speech workers by default: one a core, but no more than 8 (a Piper worker holds its model, about 200 MB).
CORES = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class GuidedGroup(click.Group):
    """Maps the project's errors to one line and exit 1, and Ctrl-C to one line and exit 130."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GuidedError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nStopped.", err=True)
            ctx.exit(130)


def _name(ctx, param, value):
    try:
        return check_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def voice_options(f):
    f = engine_option(f)
    f = click.option("--volume", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                     help="Speech volume, 0 to 1.")(f)
    f = click.option("--rate", type=click.IntRange(*RATE_RANGE), default=DEFAULT_RATE, show_default=True,
                     help="Speaking rate in words per minute.")(f)
    f = click.option("--voice", metavar="ID", help="Voice id or name (see 'guided voices').")(f)
    return f


def engine_option(f):
    return click.option("--engine", type=click.Choice(ENGINES), default="pyttsx3", show_default=True,
                        envvar="GUIDED_ENGINE",
                        help="Speech engine (env GUIDED_ENGINE). piper needs the 'natural' extra.")(f)


def ambience_option(f):
    return click.option("--ambience", metavar="FILE|noise",
                        help="A quiet bed under the session: 'noise' (soft generated noise) or an audio "
                             "file, looped, about 20 dB under the voice.")(f)


def timing_options(f):
    f = click.option("--minutes", type=click.FloatRange(min=0.5, max=600), metavar="N",
                     help="Fit the session to about N minutes by scaling its silences (not with --pause-scale).")(f)
    f = click.option("--partner-b", default="Partner B", show_default=True, callback=_name,
                     help="Name spoken for partner B.")(f)
    f = click.option("--partner-a", default="Partner A", show_default=True, callback=_name,
                     help="Name spoken for partner A.")(f)
    f = click.option("--pause-scale", type=click.FloatRange(*PAUSE_SCALE_RANGE), default=1.0,
                     show_default=True, metavar="F",
                     help="Scale every timed silence (0.05 to 5); speech is never stretched.")(f)
    return f


def _timing(pause_scale, partner_a, partner_b, minutes) -> TimingOptions:
    if minutes is not None and pause_scale != 1.0:
        raise click.UsageError("give --minutes or --pause-scale, not both")
    return TimingOptions(partner_a=partner_a, partner_b=partner_b, pause_scale=pause_scale)


def _voiced(ctx, engine_name, voice, rate, volume) -> VoicedCache:
    engine = get_engine(engine_name, state_dir=ctx.obj["cache_dir"])
    ctx.call_on_close(engine.close)
    return VoicedCache(ClipCache(ctx.obj["cache_dir"]), engine, VoiceSettings(voice, rate, volume))


@contextlib.contextmanager
def _progress(total: int, label: str):
    """A progress bar on a terminal; nothing otherwise."""
    if not sys.stderr.isatty() or total == 0:
        yield lambda n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _render(voiced: VoicedCache, sessions: list, timing, jobs: int = CORES) -> RenderReport:
    """Render the clips the sessions miss, all in one go (worker processes start, and load a
    model, once), with a progress bar on a terminal."""
    sentences = [s for session in sessions for s in build_timeline(session, timing, voiced.settings.rate).sentences()]
    missing = len({s for s in sentences if voiced.frames(s) is None})
    label = f"Preparing {sessions[0].id}" if len(sessions) == 1 else f"Preparing {len(sessions)} sessions"
    with _progress(missing, label) as progress:
        return voiced.render_missing(sentences, progress, jobs)


def _prepare(voiced: VoicedCache, session, timing, minutes=None):
    """Render missing clips and return the timeline with their exact lengths."""
    _render(voiced, [session], timing)
    return plan(session, timing, voiced, minutes)


@click.group(cls=GuidedGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="guided")
@click.option("--cache-dir", "cache_dir_option", type=click.Path(file_okay=False, path_type=Path),
              help="Where spoken clips are cached (default: audio_cache/ in a checkout, else the "
                   "user cache folder; env GUIDED_CACHE_DIR).")
@click.pass_context
def cli(ctx, cache_dir_option):
    """Voice-guided exercises on emotional intimacy, for one listener or a couple.

    Scripts are spoken by an offline voice, with timed silences to reflect or to talk.
    Nothing leaves your machine. These sessions are not therapy.

    \b
    Examples:
      guided list
      guided play arriving
      guided play daily-check-in --partner-a Sam --partner-b Alex
      guided export arriving -o arriving.wav

    Scripts are YAML, or plain text and Markdown as people already write them (headings,
    paragraphs, pause cues such as "(10 seconds of silence)"); see docs/script-format.md.
    Start one with 'guided new'.
    """
    ctx.ensure_object(dict)
    ctx.obj["cache_dir"] = cache_dir(cache_dir_option)


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_sessions(as_json):
    """List the bundled sessions.

    \b
    Examples:
      guided list
      guided list --json
    """
    rows = []
    for path in bundled_paths():
        session = load_session(path)
        minutes = build_timeline(session, TimingOptions(), DEFAULT_RATE).duration_s / 60
        rows.append({"id": session.id, "title": session.title, "summary": session.summary,
                     "mode": session.mode, "minutes": round(minutes, 1), "tags": list(session.tags)})
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max((len(r["id"]) for r in rows), default=2)
    for r in rows:
        click.echo(f"{r['id']:<{width}}  {r['mode']:<6}  {r['minutes']:>5.1f} min  {r['title']}")


@cli.command()
@click.argument("session")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.option("--strict", is_flag=True, help="Treat lines a text script could not place as errors.")
@voice_options
@timing_options
@click.pass_context
def show(ctx, session, as_json, strict, engine, voice, rate, volume, pause_scale, partner_a, partner_b, minutes):
    """Show a session's timeline: every sound and silence in playing order, with the script
    line each comes from. For a text or Markdown script, also the stage directions left
    unspoken and the lines it could not place.

    Times are exact when the clips are cached (after 'guided render'), estimated otherwise.

    \b
    Examples:
      guided show arriving
      guided show daily-check-in --partner-a Sam --partner-b Alex --json
      guided show four-practices --minutes 15
      guided show my-notes.md --strict
    """
    script = open_script(session, strict)
    loaded = script.session
    timing = _timing(pause_scale, partner_a, partner_b, minutes)
    timeline = plan(loaded, timing, _voiced(ctx, engine, voice, rate, volume), minutes)
    if as_json:
        click.echo(json.dumps(timeline.to_json(), indent=2, ensure_ascii=False))
        return
    kind = "estimated" if timeline.estimated else "exact"
    click.echo(f"{loaded.title} ({loaded.mode}, {clock(timeline.duration_s)}, {kind})")
    for event in timeline.events:
        when = f"{clock(event.start_s):>5}  L{event.line:<4}"
        if event.kind == "section":
            click.echo(f"\n{when}  ── {event.text} ──")
        elif event.kind == "say":
            click.echo(f"{when}  say      {event.text}")
        elif event.kind == "bell":
            click.echo(f"{when}  bell     {event.bell}")
        else:
            cues = f" (soft cue at {clock(event.cues[0] / SAMPLE_RATE)})" if event.cues else ""
            click.echo(f"{when}  silence  {event.purpose} {event.duration_s:.1f}s{cues}")
    if script.notes:
        click.echo("\nNot spoken (stage directions):")
        for note in script.notes:
            click.echo(f"  L{note.line:<4}  {note.message}")
    if script.warnings:
        click.echo("\nWarnings (--strict makes these errors):")
        for warning in script.warnings:
            click.echo(f"  L{warning.line:<4}  {warning.message}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat lines a text script could not place as errors.")
def validate(paths, strict):
    """Check scripts (YAML, text or Markdown) and report every problem, as PATH:LINE: message.

    \b
    Examples:
      guided validate my-session.yaml
      guided validate scripts/*.yaml
      guided validate notes.md --strict
    """
    failed = 0
    for path in paths:
        try:
            session = read_script(path, strict).session
        except ScriptError as exc:
            failed += 1
            click.echo(str(exc), err=True)
        else:
            click.echo(f"{path}: valid ({len(session.steps)} steps)")
    if failed:
        raise click.ClickException(f"{failed} of {len(paths)} scripts have problems")


@cli.command()
@click.argument("sessions", nargs=-1)
@click.option("--all", "render_all", is_flag=True, help="Render every bundled session.")
@click.option("--jobs", type=click.IntRange(1, 64), default=CORES, show_default="every core, up to 8",
              help="Cores to synthesize on: a worker process on each, for engines safe in parallel (piper, "
                   "espeak-ng); pyttsx3 uses one.")
@voice_options
@timing_options
@click.pass_context
def render(ctx, sessions, render_all, jobs, engine, voice, rate, volume, pause_scale, partner_a, partner_b,
           minutes):
    """Synthesize the clips sessions need into the cache, ahead of time.

    \b
    Examples:
      guided render arriving
      guided render --all --engine piper --jobs 2
    """
    if render_all == bool(sessions):
        raise click.UsageError("name one or more sessions, or give --all")
    names = [p.stem for p in bundled_paths()] if render_all else list(sessions)
    loaded = [open_session(name) for name in names]
    timing = _timing(pause_scale, partner_a, partner_b, minutes)
    voiced = _voiced(ctx, engine, voice, rate, volume)
    report = _render(voiced, loaded, timing, jobs)
    if minutes is not None:  # the fit needs the clips' true lengths
        for session in loaded:
            plan(session, timing, voiced, minutes)
    click.echo(f"{report.synthesized} clips synthesized, {report.cached} already cached.")


@cli.command()
@click.argument("session")
@voice_options
@timing_options
@click.option("--from", "start", metavar="SECTION_OR_STEP", help="Start at this section (its name) or step number.")
@click.option("--resume", is_flag=True, help="Continue the latest stopped play of this session where it stopped.")
@click.option("--remember-names", is_flag=True, help="Keep the partners' names in the practice history.")
@click.option("--audio-driver", metavar="NAME", help="SDL audio driver to use (e.g. pulseaudio, alsa, disk).")
@ambience_option
@click.pass_context
def play(ctx, session, engine, voice, rate, volume, pause_scale, partner_a, partner_b, minutes, start, resume,
         remember_names, audio_driver, ambience):
    """Play a session: speech, silences and bells, with captions as lines are spoken.

    On a terminal: space pauses and resumes, n skips to the next step, b goes back to the
    start of the step, + adds 30 seconds to a silence, q quits, ? shows the keys; wait steps
    wait for space or enter. Ctrl-C stops at once. Each play is kept in the practice history
    (names only with --remember-names).

    \b
    Examples:
      guided play arriving
      guided play four-practices --partner-a Sam --partner-b Alex --minutes 15
      guided play four-practices --from "keeping faith"
      guided play closer-step-by-step --resume
      guided play arriving --ambience rain.ogg
    """
    from player.display import KEYS_HELP
    from player.playback import open_mixer, play_timeline

    if start and resume:
        raise click.UsageError("give --from or --resume, not both")
    loaded = open_session(session)
    bed = ambience_loop(ambience) if ambience else None
    voiced = _voiced(ctx, engine, voice, rate, volume)
    timing = _timing(pause_scale, partner_a, partner_b, minutes)
    if minutes is not None:  # fitting the length needs every clip's true length first
        timeline = _prepare(voiced, loaded, timing, minutes)
    else:  # the rest is made while it plays
        timeline = plan(loaded, timing, voiced)
    start_step = 1
    if start:
        try:
            start_step = find_start(timeline, start)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--from'") from None
    warn = _warn_once()
    hash_ = script_hash(loaded.path)
    history = None
    if resume:  # nothing to resume: say so before the device is opened
        history = open_to_resume(loaded.id)
        start_step = resume_step(history, loaded.id, hash_, timeline.step_count, warn)
    mixer = open_mixer(loaded.id, audio_driver)  # no device: say so before anything is recorded
    if history is None:
        history = _open_history(warn)
    interactive = sys.stdin.isatty()
    controls = KEYS_HELP if interactive else "Ctrl-C stops"
    about = "about " if timeline.estimated else ""
    click.echo(f"{loaded.title} · {about}{clock(timeline.duration_s)} · {controls}")
    if start_step > 1:
        click.echo(f"Starting at step {start_step} of {timeline.step_count}.")
    names = (partner_a, partner_b) if remember_names and loaded.mode == "couple" else None
    with stop_signals():  # INT, TERM (even twice) and HUP all end with the row saved as stopped
        ahead = start_ahead(voiced, timeline, start_step)
        try:
            with recording(history, loaded.id, loaded.title, hash_, timeline.step_count, names, warn) as record:
                stopped_at = play_timeline(timeline, voiced, mixer, interactive=interactive, start_step=start_step,
                                           on_step=record.progress, prepared=ahead.working,
                                           ambience=Ambience(bed, timeline.length) if bed is not None else None)
                record.completed = stopped_at is None
        finally:
            ahead.stop()
            if history is not None:
                history.close()
    if stopped_at is None:
        click.echo("\nThe session has ended.")
    else:
        click.echo(f"\nStopped at step {stopped_at} of {timeline.step_count}. "
                   f"To go on later: guided play {session} --resume")


def _warn_once():
    warned = []

    def warn(message: str) -> None:
        if not warned:
            warned.append(message)
            click.echo(f"Warning: {message}", err=True)

    return warn


def _open_history(warn) -> History | None:
    try:
        return History()
    except HistoryUnavailable as exc:
        warn(f"{exc}; playing without recording")
        return None


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many plays to list.")
def history(as_json, limit):
    """Your recent plays, and a summary: sessions completed, minutes this week, your current
    streak of practice days, and a 12-week calendar.

    \b
    Examples:
      guided history
      guided history --json --limit 50
    """
    store = History(read_only=True)
    try:
        plays, summary = store.recent(limit), store.summary()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"plays": [p.to_json() for p in plays], "summary": summary}, indent=2,
                              ensure_ascii=False))
        return
    if not plays:
        click.echo("No plays yet. Start with: guided play arriving")
    for p in plays:
        when = datetime.fromisoformat(p.started_at).astimezone().strftime("%Y-%m-%d %H:%M")
        click.echo(f"{when}  {p.status:<9}  {clock(p.seconds_listened):>6}  "
                   f"step {p.last_step}/{p.total_steps}  {p.title}")
    click.echo(f"\nSessions completed: {summary['completed']} · minutes this week: "
               f"{summary['minutes_this_week']:g} · current streak: {summary['streak_days']} "
               f"day{'s' if summary['streak_days'] != 1 else ''}\n")
    for line in calendar_lines(summary):
        click.echo(line)


@cli.command()
@click.argument("session", required=False)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="The file to write: .wav, .flac, .ogg or .mp3 (with --all: a folder).")
@click.option("--all", "export_all", is_flag=True, help="Export every bundled session into the folder -o names.")
@click.option("--format", "format_", type=click.Choice(["wav", "flac", "ogg", "mp3"]), default="mp3",
              show_default=True, help="With --all: the format to write.")
@click.option("--captions", type=click.Path(path_type=Path),
              help="Also write captions: FILE.vtt or FILE.srt (with --all: vtt or srt).")
@ambience_option
@voice_options
@timing_options
@click.pass_context
def export(ctx, session, output, export_all, format_, captions, ambience, engine, voice, rate, volume, pause_scale,
           partner_a, partner_b, minutes):
    """Export a session to an audio file, tagged, with a chapter per section; wait steps use
    their fallback silence. The format follows the file's suffix.

    \b
    Examples:
      guided export arriving -o arriving.mp3 --captions arriving.vtt
      guided export daily-check-in -o check-in.ogg --partner-a Sam --partner-b Alex
      guided export --all -o sessions/ --format mp3 --captions vtt
      guided export arriving -o arriving.ogg --ambience noise
    """
    if export_all == bool(session):
        raise click.UsageError("name one session, or give --all")
    timing = _timing(pause_scale, partner_a, partner_b, minutes)
    bed = ambience_loop(ambience) if ambience else None
    voiced = _voiced(ctx, engine, voice, rate, volume)
    if not export_all:
        _export_one(voiced, open_session(session), timing, minutes, output, captions, bed)
        return
    if captions is not None and str(captions) not in ("vtt", "srt"):
        raise click.BadParameter("with --all, give the captions' format: vtt or srt", param_hint="'--captions'")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(f"cannot make the folder {output}: {exc.strerror}", param_hint="'-o'") from None
    entries = []
    for path in bundled_paths():
        target = output / f"{path.stem}.{format_}"
        caption_file = output / f"{path.stem}.{captions}" if captions else None
        loaded = load_session(path)
        result = _export_one(voiced, loaded, timing, minutes, target, caption_file, bed)
        entries.append((result.path, loaded.title, result.duration_s))
    click.echo(f"Wrote {write_playlist(output, entries)} ({len(entries)} sessions)")


def _export_one(voiced, loaded, timing, minutes, output: Path, captions: Path | None, bed):
    check_target(output)
    if captions is not None:
        check_captions_target(captions)
    timeline = _prepare(voiced, loaded, timing, minutes)
    ambience = Ambience(bed, timeline.length) if bed is not None else None
    with _progress(timeline.length, f"Exporting {loaded.id}") as progress:
        result = export_session(timeline, voiced, output, progress, captions, ambience)
    click.echo(f"Wrote {result.path} ({clock(result.duration_s)}, {result.bytes / 1e6:.1f} MB)"
               + (f" and {captions}" if captions else ""))
    return result


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The YAML file to write.")
def convert(source, output):
    """Write a text or Markdown script as the equivalent YAML script, to refine by hand.

    What was left out (stage directions, unplaced lines) is listed in comments at the top.

    \b
    Examples:
      guided convert my-notes.md -o my-session.yaml
    """
    if source.suffix.lower() not in TEXT_SUFFIXES:
        raise click.UsageError(f"convert reads text or Markdown scripts ({', '.join(TEXT_SUFFIXES)})")
    check_target(output, kinds=(".yaml", ".yml"), what="convert")
    write_text(output, to_yaml(read_script(source), source))
    click.echo(f"Wrote {output}; check it with: guided validate {output}")


@cli.command()
@click.argument("name")
@click.option("--couple", is_flag=True, help="A session for two partners, with turns.")
@click.option("--markdown", is_flag=True, help="Write Markdown instead of YAML.")
def new(name, couple, markdown):
    """Write a commented starter script that plays as it is, to make your own.

    \b
    Examples:
      guided new evening-reflection
      guided new our-check-in --couple --markdown
    """
    path = Path(name)
    if not path.suffix:
        path = path.with_suffix(".md" if markdown else ".yaml")
    if path.exists():
        raise click.ClickException(f"{path} already exists; choose another name")
    check_target(path, kinds=(path.suffix.lower(),), what="write a script")
    title = re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or "My session"
    write_text(path, starter(title, couple, markdown or path.suffix.lower() in TEXT_SUFFIXES, path.name))
    click.echo(f"Wrote {path}. Try it: guided show {path}; then: guided play {path}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@engine_option
@click.pass_context
def voices(ctx, as_json, engine):
    """List the voices the speech engine offers.

    \b
    Examples:
      guided voices
      guided voices --engine piper --json
    """
    speech = get_engine(engine, state_dir=ctx.obj["cache_dir"])
    try:
        found = speech.voices()
    finally:
        speech.close()
    if as_json:
        rows = [{"id": v.id, "name": v.name, "languages": list(v.languages)} for v in found]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max((len(v.id) for v in found), default=2)
    for v in found:
        click.echo(f"{v.id:<{width}}  {v.name}  ({', '.join(v.languages)})")


@cli.group()
def cache():
    """Look at or empty the clip cache.

    \b
    Examples:
      guided cache info
      guided cache clear
    """


@cache.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def info(ctx, as_json):
    """Where the cache is, how many clips it holds, and their size."""
    details = ClipCache(ctx.obj["cache_dir"]).info()
    if as_json:
        click.echo(json.dumps(details, indent=2))
        return
    damaged = f" ({details['damaged']} damaged, made again when needed)" if details["damaged"] else ""
    click.echo(f"{details['path']}: {details['clips']} clips, {details['bytes'] / 1e6:.1f} MB{damaged}")


@cache.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def clear(ctx, as_json):
    """Remove every cached clip (they are made again when needed)."""
    removed = ClipCache(ctx.obj["cache_dir"]).clear()
    if as_json:
        click.echo(json.dumps({"removed": removed}))
        return
    click.echo(f"Removed {removed} clips.")
