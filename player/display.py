"""What the listener sees while a session plays: captions as lines are spoken, and on a
terminal a countdown during silences with the step and the time left."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from player.limits import SAMPLE_RATE

if TYPE_CHECKING:
    from player.timeline import Event, Timeline

BAR_WIDTH = 20
KEYS_HELP = "space pause/resume · n next step · b back to the step's start · + 30 s more silence · q quit · ? keys"


class Display:
    """What the listener sees: captions as lines are spoken, a countdown during silences."""

    def __init__(self, timeline: Timeline, stream=None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.timeline = timeline
        self._countdown: Event | None = None
        self._extra = 0  # samples added to the countdown with +
        self._shown_remaining = None

    def event_started(self, event: Event) -> None:
        self._end_countdown()
        if event.kind == "section":
            self._line(f"\n── {event.text} ──")
        elif event.kind == "say":
            self._line(event.text)
        elif event.kind == "silence" and event.purpose != "break":
            if self.tty:
                self._countdown = event
                self._extra = 0
                self._shown_remaining = None
            else:
                self._line(f"[{_silence_label(event)}: {clock(event.duration_s)}{_roles(event)}]")

    def tick(self, event: Event, played_in_event: int) -> None:
        """Called as playback moves through an event, to refresh the countdown: a bar, the time
        left in this silence, the step, and the time left in the session."""
        if self._countdown is not event:
            return
        length = event.length + self._extra
        remaining = max(0, round((length - played_in_event) / SAMPLE_RATE))
        if remaining == self._shown_remaining:
            return
        self._shown_remaining = remaining
        done = min(BAR_WIDTH, round(BAR_WIDTH * played_in_event / max(length, 1)))
        bar = "█" * done + "░" * (BAR_WIDTH - done)
        at = (event.start + played_in_event) / SAMPLE_RATE
        to_go = max(0, self.timeline.length + self._extra - event.start - played_in_event) / SAMPLE_RATE
        self.stream.write(
            f"\r\x1b[2K  {_silence_label(event)}: {clock(remaining)} left {bar}{_roles(event)}"
            f" · step {event.step}/{self.timeline.step_count} · {clock(at)} in, {clock(to_go)} to go"
        )
        self.stream.flush()

    def prompt_key(self) -> None:
        self._end_countdown()
        self._line("  (press space or enter to go on)")

    def preparing(self) -> None:
        """Playback is waiting for speech still being made."""
        self._end_countdown()
        self._line("  (preparing…)")

    def paused(self) -> None:
        self._end_countdown()
        self._line("  ‖ paused: press space to go on")

    def resumed(self) -> None:
        self._shown_remaining = None

    def extended(self, event: Event, seconds: float) -> None:
        """+ added time to the silence being counted down."""
        if self._countdown is event:
            self._extra += round(seconds * SAMPLE_RATE)
        self._shown_remaining = None
        if not self.tty:
            self._line(f"[{clock(seconds)} more]")

    def keys_help(self) -> None:
        self._end_countdown()
        self._line(f"  keys: {KEYS_HELP}")

    def finished(self) -> None:
        self._end_countdown()

    def _end_countdown(self) -> None:
        if self._countdown is not None:
            self.stream.write("\r\x1b[2K")
            self._countdown = None

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _silence_label(event: Event) -> str:
    if event.purpose == "talk" and not event.speaker:
        return "talk together"
    return {"wait": "waiting"}.get(event.purpose, event.purpose)


def _roles(event: Event) -> str:
    return f" · {event.speaker_name} speaks, {event.listener_name} listens" if event.speaker and event.purpose in ("talk", "respond") else ""


def clock(seconds: float) -> str:
    """m:ss, e.g. 12:05."""
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def timeline_lines(timeline: Timeline) -> list[str]:
    """`guided show`: the title, then every event with its time and script line."""
    session = timeline.session
    kind = "estimated" if timeline.estimated else "exact"
    lines = [f"{session.title} ({session.mode}, {clock(timeline.duration_s)}, {kind})"]
    for event in timeline.events:
        when = f"{clock(event.start_s):>5}  L{event.line:<4}"
        if event.kind == "section":
            lines.append(f"\n{when}  ── {event.text} ──")
        elif event.kind == "say":
            lines.append(f"{when}  say      {event.text}")
        elif event.kind == "bell":
            lines.append(f"{when}  bell     {event.bell}")
        else:
            cues = f" (soft cue at {clock(event.cues[0] / SAMPLE_RATE)})" if event.cues else ""
            lines.append(f"{when}  silence  {event.purpose} {event.duration_s:.1f}s{cues}")
    return lines


def history_lines(report) -> list[str]:
    """`guided history`: a line per play, the summary, and the calendar (an app.HistoryReport)."""
    from datetime import datetime

    plays, summary, calendar = report.plays, report.summary, report.calendar
    lines = [] if plays else ["No plays yet. Start with: guided play arriving"]
    for p in plays:
        when = datetime.fromisoformat(p.started_at).astimezone().strftime("%Y-%m-%d %H:%M")
        lines.append(f"{when}  {p.status:<9}  {clock(p.seconds_listened):>6}  "
                     f"step {p.last_step}/{p.total_steps}  {p.title}")
    days = summary["streak_days"]
    lines.append(f"\nSessions completed: {summary['completed']} · minutes this week: "
                 f"{summary['minutes_this_week']:g} · current streak: {days} day{'s' if days != 1 else ''}\n")
    return lines + calendar


def description_lines(found) -> list[str]:
    """`guided show`: the timeline, then what a text script left unspoken or could not place."""
    lines = timeline_lines(found.timeline)
    if found.script.decisions:
        lines.append("\nHow the text was read:")
        lines += [f"  L{d.line:<4}  {d.kind:<10}  {d.message}" for d in found.script.decisions]
    if found.script.warnings:
        lines.append("\nWarnings (--strict makes these errors):")
        lines += [f"  L{warning.line:<4}  {warning.message}" for warning in found.script.warnings]
    return lines


def session_lines(rows) -> list[str]:
    """`guided list`: id, mode, minutes and title, in columns."""
    width = max((len(r.id) for r in rows), default=2)
    return [f"{r.id:<{width}}  {r.mode:<6}  {r.minutes:>5.1f} min  {r.title}" for r in rows]


def voice_lines(found) -> list[str]:
    """An app.VoiceList for people: the engine, then a voice a line, * on the default one."""
    width = max((len(v.id) for v in found.voices), default=2)
    default = " (the default engine)" if found.is_default_engine else ""
    lines = [f"{found.engine}{default}:"]
    lines += [f"{'*' if found.default(v) else ' '} {v.id:<{width}}  {v.name}  ({', '.join(v.languages)})"
              for v in found.voices]
    return lines


def play_start_lines(at, interactive: bool) -> list[str]:
    """What `guided play` says as sound begins (an app.PlayStart)."""
    about = "about " if at.estimated else ""
    lines = [f"{at.title} · {about}{clock(at.duration_s)} · {KEYS_HELP if interactive else 'Ctrl-C stops'}"]
    if at.start_step > 1:
        lines.append(f"Starting at step {at.start_step} of {at.step_count}.")
    return lines


def play_end_line(result, name: str) -> str:
    if result.stopped_at is None:
        return "\nThe session has ended."
    return (f"\nStopped at step {result.stopped_at} of {result.step_count}. "
            f"To go on later: guided play {name} --resume")


def export_line(result, captions=None) -> str:
    return (f"Wrote {result.path} ({clock(result.duration_s)}, {result.bytes / 1e6:.1f} MB)"
            + (f" and {captions}" if captions else ""))


def serve_lines(address) -> list[str]:
    """What `guided serve` prints: the address, and on the LAN a QR code of it to scan."""
    lines = [f"Open {address.url}"]
    if address.lan:
        import io

        import segno

        drawn = io.StringIO()
        segno.make(address.url, error="m").terminal(out=drawn, compact=True, border=2)
        lines += ["On a phone on the same network, scan this (the address holds a secret for this run only):",
                  drawn.getvalue().rstrip("\n")]
    lines.append("Press Ctrl-C to stop.")
    return lines


def cache_lines(details: dict) -> list[str]:
    """`guided cache info`: where, how many clips, how big, and how many damaged."""
    damaged = f" ({details['damaged']} damaged, made again when needed)" if details["damaged"] else ""
    return [f"{details['path']}: {details['clips']} clips, {details['bytes'] / 1e6:.1f} MB{damaged}"]
