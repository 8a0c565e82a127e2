"""Stage 5a: play a timeline through pygame's mixer.

The timeline's audio (speech, bells and silences, all as samples) is streamed to one mixer
channel in small chunks: what is heard is the export, sample for sample, and silences cannot
drift because they are counted in samples, not timed by the wall clock.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

from player.audio import event_chunks
from player.cache import VoicedCache
from player.errors import AudioDeviceError
from player.timeline import SAMPLE_RATE, Event, Timeline

PLAY_CHUNK_FRAMES = 2048  # about 93 ms: small enough for prompt captions and controls
MIXER_BUFFER_FRAMES = 512
POLL_S = 0.004


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C-level stderr (ALSA's and SDL's chatter) while the device is opened."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def open_mixer(session_id: str, driver: str | None = None):
    """Open pygame's mixer (and only the mixer) in the timeline's exact format."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if driver:
        os.environ["SDL_AUDIODRIVER"] = driver
    import pygame.mixer

    try:
        with _quiet_stderr():
            # allowedchanges=0: SDL converts for the device, so our samples keep their format.
            pygame.mixer.init(
                frequency=SAMPLE_RATE, size=-16, channels=1, buffer=MIXER_BUFFER_FRAMES, allowedchanges=0
            )
    except pygame.error as exc:
        said = str(exc).strip() or "no reason given"
        raise AudioDeviceError(
            f"no audio device could be opened (SDL said: {said}); "
            f"export instead: guided export {session_id} -o {session_id}.wav"
        ) from None
    return pygame.mixer


class Display:
    """What the listener sees: captions as lines are spoken, a countdown during silences."""

    def __init__(self, timeline: Timeline, stream=None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.timeline = timeline
        self._countdown: Event | None = None
        self._shown_remaining = None

    def event_started(self, event: Event) -> None:
        self._end_countdown()
        if event.kind == "section":
            self._line(f"\n── {event.text} ──")
        elif event.kind == "say":
            self._line(event.text)
        elif event.kind == "silence" and event.purpose != "break":
            label = {"wait": "waiting"}.get(event.purpose, event.purpose)
            if self.tty:
                self._countdown = event
                self._shown_remaining = None
            else:
                self._line(f"[{label}: {_clock(event.duration_s)}]")

    def tick(self, event: Event, played_in_event: int) -> None:
        """Called as playback moves through an event, to refresh the countdown."""
        if self._countdown is not event:
            return
        remaining = max(0, round((event.length - played_in_event) / SAMPLE_RATE))
        if remaining != self._shown_remaining:
            self._shown_remaining = remaining
            self.stream.write(f"\r  … {event.purpose}: {_clock(remaining)} left  ")
            self.stream.flush()

    def prompt_key(self) -> None:
        self._end_countdown()
        self._line("  (press space or enter to go on)")

    def finished(self) -> None:
        self._end_countdown()

    def _end_countdown(self) -> None:
        if self._countdown is not None:
            self.stream.write("\r\x1b[2K")
            self._countdown = None

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def play_timeline(
    timeline: Timeline,
    voiced: VoicedCache,
    driver: str | None = None,
    display: Display | None = None,
    interactive: bool | None = None,
) -> None:
    """Play every event in order. `interactive` (default: stdin is a terminal) makes wait
    steps wait for a key instead of their fallback silence."""
    display = display or Display(timeline)
    if interactive is None:
        interactive = sys.stdin.isatty()
    mixer = open_mixer(timeline.session.id, driver)
    try:
        _stream(timeline, voiced, mixer, display, interactive)
    finally:
        mixer.stop()
        mixer.quit()
        display.finished()


def _stream(timeline: Timeline, voiced: VoicedCache, mixer, display: Display, interactive: bool) -> None:
    channel = mixer.Channel(0)
    queued: tuple[Event, int] | None = None  # the chunk waiting in the channel's queue slot

    def started(event: Event, offset: int) -> None:
        if offset == 0:
            display.event_started(event)
        display.tick(event, offset)

    for event in timeline.events:
        if event.length == 0:
            if channel.get_busy():
                _wait_until(lambda: channel.get_queue() is None)
            display.event_started(event)
            continue
        if interactive and event.kind == "silence" and event.purpose == "wait":
            _wait_until(lambda: not channel.get_busy())
            queued = None
            display.prompt_key()
            _read_go_on_key()
            continue
        for offset, samples in event_chunks(event, voiced, PLAY_CHUNK_FRAMES):
            sound = mixer.Sound(buffer=samples.tobytes())
            if not channel.get_busy():  # the start, or after an underrun
                if queued:
                    started(*queued)
                channel.play(sound)
                started(event, offset)
                queued = None
                continue
            _wait_until(lambda: channel.get_queue() is None)
            if queued:
                started(*queued)
            channel.queue(sound)
            queued = (event, offset)
    if queued:
        _wait_until(lambda: channel.get_queue() is None)
        started(*queued)
    _wait_until(lambda: not channel.get_busy())


def _wait_until(condition) -> None:
    while not condition():
        time.sleep(POLL_S)


def _read_go_on_key() -> None:
    """Wait for space or enter, with the terminal in cbreak mode and restored on every exit."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        while os.read(fd, 1) not in (b" ", b"\n", b"\r"):
            pass
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
