"""The `guided` command: options in, one call into player.app per command, results printed.

Every failure the project knows reaches the person as one line and exit 1 (usage mistakes:
exit 2), Ctrl-C as "Stopped." and exit 130; `--debug` adds tracebacks and the log on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from player import __version__, app
from player import options as opt


@click.group(cls=opt.GuidedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guided")
@opt.global_options
def cli(cache_dir, debug):
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
    opt.begin(cache_dir, debug)


@cli.command(name="list")
@opt.json_option
def list_sessions(as_json):
    """List the bundled sessions.

    \b
    Examples:
      guided list
      guided list --json
    """
    from player.display import session_lines

    rows = app.list_sessions(opt.workspace())
    opt.show_result(as_json, [r.to_json() for r in rows], session_lines(rows))


@cli.command()
@click.argument("session")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.option("--strict", is_flag=True, help="Treat lines a text script could not place as errors.")
@opt.voice_options
@opt.timing_options
def show(session, as_json, strict, **chosen):
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
    from player.display import description_lines

    found = app.describe(opt.workspace(), session, *opt.choices(chosen), strict=strict)
    opt.show_result(as_json, found.timeline.to_json(), description_lines(found))


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
    opt.print_checks(app.validate(list(paths), strict))


@cli.command()
@click.argument("sessions", nargs=-1)
@click.option("--all", "render_all", is_flag=True, help="Render every bundled session.")
@opt.jobs_option
@opt.voice_options
@opt.timing_options
def render(sessions, render_all, jobs, **chosen):
    """Synthesize the clips sessions need into the cache, ahead of time.

    \b
    Examples:
      guided render arriving
      guided render --all --engine piper --jobs 2
    """
    if render_all == bool(sessions):
        raise click.UsageError("name one or more sessions, or give --all")
    report = app.render(opt.workspace(), list(sessions), *opt.choices(chosen), jobs=jobs, progress=opt.progress_bar)
    click.echo(f"{report.synthesized} clips synthesized, {report.cached} already cached.")


@cli.command()
@click.argument("session")
@opt.voice_options
@opt.timing_options
@opt.play_options
@opt.ambience_option
def play(session, start, resume, remember_names, audio_driver, ambience, **chosen):
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
    from player.display import play_end_line, play_start_lines

    interactive = sys.stdin.isatty()
    result = app.play(opt.workspace(), session, *opt.choices(chosen), start=start, resume=resume,
                      remember_names=remember_names, audio_driver=audio_driver, ambience=ambience,
                      interactive=interactive, on_start=lambda at: opt.echo_lines(play_start_lines(at, interactive)),
                      warn=opt.warn_once())
    click.echo(play_end_line(result, session))


@cli.command()
@opt.json_option
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many plays to list.")
def history(as_json, limit):
    """Your recent plays, and a summary: sessions completed, minutes this week, your current
    streak of practice days, and a 12-week calendar.

    \b
    Examples:
      guided history
      guided history --json --limit 50
    """
    from player.display import history_lines

    report = app.history(limit)
    opt.show_result(as_json, report.to_json(), history_lines(report))


@cli.command()
@click.argument("session", required=False)
@opt.export_options
@opt.ambience_option
@opt.voice_options
@opt.timing_options
def export(session, output, export_all, format_, captions, ambience, **chosen):
    """Export a session to an audio file, tagged, with a chapter per section; wait steps use
    their fallback silence. The format follows the file's suffix.

    \b
    Examples:
      guided export arriving -o arriving.mp3 --captions arriving.vtt
      guided export daily-check-in -o check-in.ogg --partner-a Sam --partner-b Alex
      guided export --all -o sessions/ --format mp3 --captions vtt
      guided export arriving -o arriving.ogg --ambience noise
    """
    from player.display import export_line

    if export_all == bool(session):
        raise click.UsageError("name one session, or give --all")
    voicing, timing = opt.choices(chosen)
    if not export_all:
        return click.echo(export_line(app.export(opt.workspace(), session, output, voicing, timing, captions, ambience,
                                                 opt.progress_bar, format_), captions))
    done = app.export_all(opt.workspace(), output, format_, voicing, timing, str(captions) if captions else None,
                          ambience, opt.progress_bar, on_each=lambda result: click.echo(export_line(result)))
    click.echo(f"Wrote {done.playlist} ({len(done.results)} sessions)")


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
    written = app.convert(source, output)
    click.echo(f"Wrote {written}; check it with: guided validate {written}")


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
    path = app.new_script(name, couple, markdown)
    click.echo(f"Wrote {path}. Try it: guided show {path}; then: guided play {path}")


@cli.command()
@opt.json_option
@opt.engine_option
@opt.sample_options
def voices(as_json, engine, voice, sample, output):
    """List the voices of the speech engine (the default one unless --engine); * marks the
    voice used when none is chosen. --sample speaks a line in a voice, to choose by ear.

    \b
    Examples:
      guided voices
      guided voices --engine piper --json
      guided voices --engine piper --sample "Take a slow breath." -o sample.wav
    """
    from player.display import voice_lines

    if sample is None and (voice or output):
        raise click.UsageError("--voice and -o go with --sample TEXT")
    if sample is None:
        found = app.voices(opt.workspace(), engine)
        return opt.show_result(as_json, found.to_json(), voice_lines(found))
    written = app.voice_sample(opt.workspace(), app.Voicing(engine, voice), sample, output)
    click.echo(f"Wrote {written}" if written else "Played the sample.")


@cli.command()
@opt.config_arguments
def config(action, key, value):
    """Saved preferences, in config.toml in the user data folder (GUIDED_HOME). --engine and
    GUIDED_ENGINE still win over them.

    \b
    Examples:
      guided config set engine pyttsx3
      guided config get engine
      guided config unset engine
      guided config list
    """
    opt.echo_lines(app.configure(action, key, value))


@cli.group()
def cache():
    """Look at or empty the clip cache.

    \b
    Examples:
      guided cache info
      guided cache clear
    """


@cache.command()
@opt.json_option
def info(as_json):
    """Where the cache is, how many clips it holds, and their size."""
    from player.display import cache_lines

    details = app.cache_info(opt.workspace())
    opt.show_result(as_json, details, cache_lines(details))


@cache.command()
@opt.json_option
def clear(as_json):
    """Remove every cached clip (they are made again when needed)."""
    removed = app.cache_clear(opt.workspace())
    opt.show_result(as_json, {"removed": removed}, [f"Removed {removed} clips."])


@cli.command()
@click.argument("scripts", nargs=-1, type=click.Path(path_type=Path))
@opt.serve_options
@opt.voice_options
def serve(scripts, host, port, lan, no_open, remember_names, **chosen):
    """Serve a private web player: the library, captions, turns and waits, for a phone on
    the sofa or this computer's browser. Besides the bundled sessions it offers any scripts or
    folders of scripts named. Plays go into the practice history. Ctrl-C stops it.

    \b
    Examples:
      guided serve
      guided serve --lan
      guided serve my-scripts/ --port 9000 --no-open
    """
    from player import web
    from player.display import serve_lines

    web.serve(opt.workspace(), list(scripts), opt.voicing(chosen), host=host, port=port, lan=lan,
              open_browser=not no_open, remember_names=remember_names,
              announce=lambda address: opt.echo_lines(serve_lines(address)), warn=opt.warn_once())
