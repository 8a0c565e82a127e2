"""Stage 5a: play a timeline through pygame's mixer.

The timeline's audio (speech, bells and silences, all as samples) is streamed to one mixer
channel in small chunks: what is heard is the export, sample for sample, and silences cannot
drift because they are counted in samples, not timed by the wall clock.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time
from collections.abc import Iterator

import numpy as np

from player.audio import event_chunks
from player.cache import VoicedCache
from player.errors import AudioDeviceError
from player.timeline import SAMPLE_RATE, Event, Timeline

PLAY_CHUNK_FRAMES = 2048  # about 93 ms: small enough for prompt captions and controls
MIXER_BUFFER_FRAMES = 512
POLL_S = 0.004
KEYS_HELP = "space pause/resume · n next step · b back to the step's start · q quit · ? keys"


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

    def paused(self) -> None:
        self._end_countdown()
        self._line("  ‖ paused: press space to go on")

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


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class Keys:
    """Single key presses from the terminal. Cbreak mode lasts for the whole session and is
    restored on every way out, Ctrl-C and errors included. Disabled without a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._saved = None

    def __enter__(self) -> Keys:
        if self.enabled:
            import termios
            import tty

            self._saved = termios.tcgetattr(sys.stdin.fileno())
            tty.setcbreak(sys.stdin.fileno())
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self) -> str | None:
        """The key pressed since the last call, if any; never blocks."""
        if not self.enabled:
            return None
        ready, _, _ = select.select([sys.stdin], [], [], 0)
        if not ready:
            return None
        return os.read(sys.stdin.fileno(), 1).decode("utf-8", "replace").lower()


def play_timeline(
    timeline: Timeline,
    voiced: VoicedCache,
    driver: str | None = None,
    display: Display | None = None,
    interactive: bool | None = None,
) -> int | None:
    """Play every event in order; return None at the end, or the step where the listener quit.

    `interactive` (default: stdin is a terminal) turns on the keys, and makes wait steps wait
    for a key instead of their fallback silence."""
    display = display or Display(timeline)
    if interactive is None:
        interactive = sys.stdin.isatty()
    mixer = open_mixer(timeline.session.id, driver)
    try:
        with Keys(interactive) as keys:
            return _stream(timeline, voiced, mixer, display, keys)
    finally:
        mixer.stop()
        mixer.quit()
        display.finished()


def _waits_for_key(event: Event, keys: Keys) -> bool:
    return keys.enabled and event.kind == "silence" and event.purpose == "wait"


def _first_event_of_step(events: tuple[Event, ...], step: int) -> int:
    return next((i for i, e in enumerate(events) if e.step >= step), len(events))


def _stream(timeline: Timeline, voiced: VoicedCache, mixer, display: Display, keys: Keys) -> int | None:
    """Play from event to event, following the listener's keys."""
    channel = mixer.Channel(0)
    events = timeline.events
    i = 0
    while i < len(events):
        end = i
        while end < len(events) and not _waits_for_key(events[end], keys):
            end += 1
        key, at = _play_events(list(events[i:end]), voiced, mixer, channel, display, keys)
        if key is None:
            if end == len(events):
                return None
            at = events[end]
            display.prompt_key()
            key = _wait_for_key(keys, display, go_on=(" ", "\n", "\r", "n"))
            if key in (" ", "\n", "\r", "n"):
                i = end + 1
                continue
        at = at or events[i]
        if key == "q":
            return at.step
        i = _first_event_of_step(events, at.step + 1 if key == "n" else at.step)
    return None


def _wait_for_key(keys: Keys, display: Display, go_on: tuple[str, ...]) -> str:
    """Block until a key in `go_on`, or b or q; `?` shows the keys."""
    while True:
        key = keys.read()
        if key in go_on or key in ("b", "q"):
            return key
        if key == "?":
            display.keys_help()
        time.sleep(POLL_S)


def _blocks(events: list[Event], voiced: VoicedCache, size: int) -> Iterator[tuple[int, np.ndarray]]:
    """The events' samples as (timeline position, block) in blocks of exactly `size` frames
    (the last may be shorter), cut across event boundaries: a tiny block at the end of an
    event would leave the mixer's queue too little time to be refilled."""
    position = events[0].start if events else 0
    pending: list[np.ndarray] = []
    held = 0
    for event in events:
        for _, samples in event_chunks(event, voiced, size):
            pending.append(samples)
            held += samples.size
            while held >= size:
                joined = np.concatenate(pending)
                yield position, joined[:size]
                position += size
                pending, held = [joined[size:]], held - size
    if held:
        yield position, np.concatenate(pending)


def _play_events(
    events: list[Event], voiced: VoicedCache, mixer, channel, display: Display, keys: Keys
) -> tuple[str | None, Event | None]:
    """Stream the events gaplessly through one channel: one block playing, the next queued.
    Returns (None, None) when all were played, or (key, the event sounding) when n, b or q
    cut them short; space pauses and resumes in place."""
    to_announce = list(events)
    current: list[Event] = []

    def started(position: int) -> None:
        # The block at `position` has begun: show every event that starts within it.
        while to_announce and to_announce[0].start < position + PLAY_CHUNK_FRAMES:
            current[:] = [to_announce.pop(0)]
            display.event_started(current[0])
        if current:
            display.tick(current[0], position - current[0].start)

    def wait(condition) -> str | None:
        """Wait for `condition`, acting on keys meanwhile; a key that ends the run is returned."""
        while not condition():
            key = keys.read()
            if key == " ":
                channel.pause()
                display.paused()
                key = _wait_for_key(keys, display, go_on=(" ",))
                channel.unpause()
            elif key == "?":
                display.keys_help()
            if key in ("n", "b", "q"):
                # Stopping a channel starts its queued block (pygame's end-of-sound callback);
                # the second stop silences that one too.
                channel.stop()
                channel.stop()
                return key
            time.sleep(POLL_S)
        return None

    def cut(key: str) -> tuple[str, Event | None]:
        return key, current[0] if current else None

    queued: int | None = None  # position of the block waiting in the channel's queue slot
    for position, samples in _blocks(events, voiced, PLAY_CHUNK_FRAMES):
        sound = mixer.Sound(buffer=samples.tobytes())
        if not channel.get_busy():  # the start, or after an underrun
            if queued is not None:
                started(queued)
            channel.play(sound)
            started(position)
            queued = None
            continue
        if key := wait(lambda: channel.get_queue() is None):
            return cut(key)
        if queued is not None:
            started(queued)
        channel.queue(sound)
        queued = position
    if queued is not None:
        if key := wait(lambda: channel.get_queue() is None):
            return cut(key)
        started(queued)
    if key := wait(lambda: not channel.get_busy()):
        return cut(key)
    for event in to_announce:  # zero-length events at the very end
        display.event_started(event)
    return None, None
