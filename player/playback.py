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
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from player.ambience import Ambience
from player.audio import bell, event_chunks, passage_parts
from player.cache import VoicedCache
from player.display import Display
from player.errors import AudioDeviceError
from player.prefetch import AheadOfTheListener
from player.signals import stop_signals
from player.timeline import (
    SAMPLE_RATE,
    Event,
    Timeline,
    first_event_of_step,
    passage_length,
    seconds_to_samples,
)

PLAY_CHUNK_FRAMES = 2048  # about 93 ms: small enough for prompt captions and controls
MIXER_BUFFER_FRAMES = 512
POLL_S = 0.004
ADD_TIME_S = 30.0
WAIT_REMINDER_S = 120.0
GO_ON = (" ", "\n", "\r", "n")


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
    if os.environ.get("SDL_AUDIODRIVER") == "disk" and not os.environ.get("SDL_DISKAUDIOFILE"):
        # SDL would write what is played to ./sdlaudio.raw, wherever guided was started.
        raise AudioDeviceError("the disk audio driver writes what is played to a file: name it with "
                               "SDL_DISKAUDIOFILE=/path/to/out.raw")
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


def play_samples(mixer, samples: np.ndarray) -> None:
    """Play a short sound (a voice sample) to its end through `mixer` (from open_mixer), then close it."""
    try:
        channel = mixer.Channel(0)
        channel.play(mixer.Sound(buffer=samples.tobytes()))
        while channel.get_busy():
            time.sleep(0.02)
    finally:
        mixer.quit()


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
        key = os.read(sys.stdin.fileno(), 1)
        if key == b"\x1b":  # an arrow or function key: its whole sequence is ignored
            while select.select([sys.stdin], [], [], 0.01)[0]:
                os.read(sys.stdin.fileno(), 16)
            return None
        return key.decode("utf-8", "replace").lower()


def play_timeline(
    timeline: Timeline,
    voiced: VoicedCache,
    mixer,
    display: Display | None = None,
    interactive: bool | None = None,
    start_step: int = 1,
    on_step: Callable[[int, float], None] = lambda step, listened_s: None,
    ambience: Ambience | None = None,
    ahead: AheadOfTheListener | None = None,
) -> int | None:
    """Play the events from `start_step` on through `mixer` (from open_mixer; closed when done);
    return None at the end, or the step where the listener quit. `on_step(step, seconds listened)` is called as each step begins, and once
    more as playback ends, however it ends. Clips may still be in the making by `ahead`: a
    passage waits for its clips meanwhile (and for `ahead` to make any still missing after).

    `interactive` (default: stdin is a terminal) turns on the keys, and makes wait steps wait
    for a key instead of their fallback silence. SIGTERM and SIGHUP stop playback like Ctrl-C
    (see player.signals)."""
    display = display or Display(timeline)
    if interactive is None:
        interactive = sys.stdin.isatty()
    player = None
    with stop_signals():
        try:
            with Keys(interactive) as keys:
                player = _Player(timeline, voiced, mixer, display, keys, on_step, ambience, ahead)
                return player.play(start_step)
        finally:
            if player is not None:
                on_step(player.step, player.listened / SAMPLE_RATE)  # where it ended, and all heard
            mixer.stop()
            mixer.quit()
            display.finished()


class _KeyWhilePreparing(Exception):
    """n, b or q pressed while playback waited for speech still being made."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _Player:
    """Streams a timeline to one mixer channel and follows the listener's keys."""

    def __init__(self, timeline, voiced, mixer, display, keys, on_step, ambience=None, ahead=None):
        self.timeline, self.voiced, self.mixer, self.ambience = timeline, voiced, mixer, ambience
        self.display, self.keys, self.on_step = display, keys, on_step
        self.channel = mixer.Channel(0)
        self.listened = 0  # samples heard, pauses excluded
        self.step = 0
        self.extra = 0  # samples of silence added with +, still to play
        self.marks: list = []
        self.ahead = ahead  # makes the clips, while this plays them

    def play(self, start_step: int) -> int | None:
        events = self.timeline.events
        i = first_event_of_step(events, start_step)
        sections = [e for e in events[:i] if e.kind == "section"]
        if sections and events[i:i + 1] and events[i].kind != "section":
            self.display.event_started(sections[-1])  # starting part-way: say where
        while i < len(events):
            end = i
            while end < len(events) and not self._waits_for_key(events[end]):
                end += 1
            key, at = self._play_events(list(events[i:end]))
            if key is None:
                if end == len(events):
                    return None
                at = events[end]
                self._begin_step(at)
                key = self._wait_at_prompt()
                if key in GO_ON:
                    i = end + 1
                    continue
            at = at or events[i]
            if key == "q":
                return at.step
            i = first_event_of_step(events, at.step + 1 if key == "n" else at.step)
        return None

    def _waits_for_key(self, event: Event) -> bool:
        return self.keys.enabled and event.kind == "silence" and event.purpose == "wait"

    def _begin_step(self, event: Event) -> None:
        if event.step != self.step:
            self.step = event.step
            self.on_step(event.step, self.listened / SAMPLE_RATE)

    def _wait_at_prompt(self) -> str:
        """A wait step on a terminal: wait for a key, with a soft reminder every 2 minutes."""
        self.display.prompt_key()
        reminder = bell("cue")
        waited = 0.0
        while True:
            key = self._key_or_none(GO_ON + ("b", "q"))
            if key:
                return key
            time.sleep(POLL_S)
            waited += POLL_S
            if waited >= WAIT_REMINDER_S:
                waited = 0.0
                self.channel.play(self.mixer.Sound(buffer=reminder.tobytes()))

    def _key_or_none(self, wanted: tuple[str, ...]) -> str | None:
        key = self.keys.read()
        if key == "?":
            self.display.keys_help()
        return key if key in wanted else None

    def _when_made(self, sentence: str, show: bool) -> int:
        """The length of `sentence`'s clip, waiting for the background maker while it works (with
        a word on screen if `show`); once it is done (or if a clip went missing since), it makes
        what is still missing. n, b or q end the wait."""
        frames = self.voiced.frames(sentence)
        if frames is None and show:
            self.display.preparing()
        while frames is None and self.ahead is not None and self.ahead.working():
            if key := self._key_or_none(("n", "b", "q")):  # no need to wait to leave
                raise _KeyWhilePreparing(key)
            time.sleep(0.01)
            frames = self.voiced.frames(sentence)
        if frames is None and self.ahead is not None:
            self.ahead.make_now([sentence])
            frames = self.voiced.frames(sentence)
        return frames or 0

    def _exact(self, event: Event) -> Event:
        """The event with its true length: a spoken passage planned while its clips were still
        being made is measured once they all exist."""
        if event.kind != "say":
            return event
        lengths = [self._when_made(s, show=True) for s in event.sentences]
        return replace(event, length=passage_length(lengths))

    def _pieces(self, event: Event, size: int) -> Iterator[tuple[int, np.ndarray]]:
        """(offset in the event, samples) of one event. A spoken passage is played a sentence
        at a time, each as soon as its clip is made: the first sound of a cold session waits
        for one sentence, not a passage. Under an ambience bed (which ducks over the whole
        passage, so needs its length) and for other events, the whole event is ready first."""
        if event.kind != "say" or self.ambience is not None:
            yield from event_chunks(event, self.voiced, size, self.ambience)
            return
        offset = 0
        for samples in passage_parts(event, self.voiced, lambda sentence, i: self._when_made(sentence, show=i == 0)):
            for at in range(0, samples.size, size):
                yield offset + at, samples[at : at + size]
            offset += samples.size

    def _blocks(self, events: list[Event]) -> Iterator[tuple[int, np.ndarray]]:
        """The events' samples as (stream position, block) in blocks of PLAY_CHUNK_FRAMES (the
        last may be shorter), cut across event boundaries: a tiny block at the end of an event
        would leave the mixer's queue too little time to be refilled. Where each event begins
        in the stream is noted in self.marks; silence added with + shifts what follows."""
        size = PLAY_CHUNK_FRAMES
        position = 0
        pending: list[np.ndarray] = []
        held = 0
        for event in events:
            if self.ambience is not None:
                event = self._exact(event)
            self.marks.append([position + held, event])
            for offset, samples in self._pieces(event, size):
                pending.append(samples)
                held += samples.size
                while held >= size:
                    bed_offset = offset
                    while self.extra > 0:
                        added = min(size, self.extra)
                        self.extra -= added
                        quiet = np.zeros(added, dtype=np.int16)
                        for mark in self.marks:
                            if mark[0] >= position:
                                mark[0] += added
                        # the bed runs on through the added time, rather than repeating a block
                        yield position, self.ambience.mix(event, bed_offset, quiet) if self.ambience else quiet
                        bed_offset += added
                        position += added
                    joined = np.concatenate(pending)
                    yield position, joined[:size]
                    position += size
                    pending, held = [joined[size:]], held - size
        if held:
            yield position, np.concatenate(pending)

    def _play_events(self, events: list[Event]) -> tuple[str | None, Event | None]:
        """Stream the events gaplessly: one block playing, the next queued. Returns (None, None)
        when all were played, or (key, the event sounding) when n, b or q cut them short."""
        self.marks = []  # [stream position, event] for each event begun, in order
        current: list = []  # the mark of the event sounding now
        channel = self.channel

        def started(position: int, size: int) -> None:
            # The block at `position` has begun: show every event that starts within it.
            self.listened += size
            while self.marks and self.marks[0][0] < position + size:
                current[:] = self.marks.pop(0) + [0]  # [start, event, samples added with +]
                self._begin_step(current[1])
                self.display.event_started(current[1])
            if current:
                self.display.tick(current[1], position - current[0])

        def sounding() -> Event | None:
            return current[1] if current else None

        def wait(condition) -> str | None:
            """Wait for `condition`, acting on keys meanwhile; a key that ends the run is returned."""
            while not condition():
                key = self._key_or_none((" ", "+", "n", "b", "q"))
                if key == " ":
                    channel.pause()
                    self.display.paused()
                    key = None
                    while key is None:
                        key = self._key_or_none((" ", "n", "b", "q"))
                        time.sleep(POLL_S)
                    channel.unpause()
                    self.display.resumed()
                elif key == "+" and current and queued:
                    self._add_time(current, queued[0])
                if key in ("n", "b", "q"):
                    # Stopping a channel starts its queued block (pygame's end-of-sound
                    # callback); the second stop silences that one too.
                    channel.stop()
                    channel.stop()
                    self.extra = 0  # time added to a silence that is now left behind
                    return key
                time.sleep(POLL_S)
            return None

        queued: tuple[int, int] | None = None  # (position, size) of the block in the queue slot
        try:
            for position, samples in self._blocks(events):
                sound = self.mixer.Sound(buffer=samples.tobytes())
                if not channel.get_busy():  # the start, or after an underrun
                    if queued:
                        started(*queued)
                    channel.play(sound)
                    started(position, samples.size)
                    queued = None
                    continue
                if key := wait(lambda: channel.get_queue() is None):
                    return key, sounding()
                if queued:
                    started(*queued)
                channel.queue(sound)
                queued = (position, samples.size)
        except _KeyWhilePreparing as pressed:
            channel.stop()
            channel.stop()
            self.extra = 0
            return pressed.key, sounding()
        if queued:
            if key := wait(lambda: channel.get_queue() is None):
                return key, sounding()
            started(*queued)
        if key := wait(lambda: not channel.get_busy()):
            return key, sounding()
        for _, event in self.marks:  # zero-length events at the very end
            self._begin_step(event)
            self.display.event_started(event)
        return None, None

    def _add_time(self, mark: list, queued_position: int) -> None:
        """+ during a timed silence: 30 s more of it, added after the block already queued."""
        start, event, added = mark
        if event.kind != "silence" or start + event.length + added - queued_position <= 2 * PLAY_CHUNK_FRAMES:
            return  # not a silence, or its end is already on its way to the speakers
        more = seconds_to_samples(ADD_TIME_S)
        self.extra += more
        mark[2] += more
        self.display.extended(event, ADD_TIME_S)
