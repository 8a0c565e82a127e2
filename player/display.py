"""What the listener sees while a session plays: captions as lines are spoken, and on a
terminal a countdown during silences with the step and the time left."""

from __future__ import annotations

import sys

from player.timeline import SAMPLE_RATE, Event, Timeline, seconds_to_samples

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
            self._extra += seconds_to_samples(seconds)
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
