"""Making a session's clips while it plays, ahead of the listener, in playing order."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from player.cache import VoicedCache
from player.errors import GuidedError, SpeechError
from player.speech.render import render_missing
from player.timeline import Timeline, first_event_of_step

AHEAD_THREADS = None  # the one worker ahead of the listener uses every core


class AheadOfTheListener:
    """Makes a session's clips in a background thread, in playing order, while it plays.

    Engines safe in a worker process (Piper, espeak-ng) make them in one, on every core: one
    that crashes or hangs is replaced and its sentence tried once more. pyttsx3 supervises its
    own worker."""

    def __init__(self, voiced: VoicedCache, sentences: list[str]):
        self.voiced = voiced
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(sentences,), daemon=True, name="guided-ahead")

    def start(self) -> AheadOfTheListener:
        self._thread.start()
        return self

    def _run(self, sentences: list[str]) -> None:
        try:
            if self.voiced.engine.parallel_safe:  # one worker, every core
                render_missing(self.voiced, sentences, jobs=1, threads=AHEAD_THREADS, stop=self._stop)
                return
            for sentence in sentences:
                if self._stop.is_set():
                    return
                render_missing(self.voiced, [sentence])
        except GuidedError as exc:  # handed to the player, which reports it
            self.error = exc
        except Exception as exc:
            self.error = SpeechError(f"speech could not be made: {type(exc).__name__}: {exc}")

    def working(self) -> bool:
        """True while clips are still being made; raises what stopped them, if anything did."""
        if self.error is not None:
            raise self.error
        return self._thread.is_alive()

    def make_now(self, sentences: list[str]) -> None:
        """Make clips still missing once the background work is over (a clip removed meanwhile)."""
        render_missing(self.voiced, sentences)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def opening_sentence(timeline: Timeline, start_step: int = 1) -> str | None:
    """The first sentence heard when playing from `start_step`: the one sound waits for."""
    events = timeline.events
    first = first_event_of_step(events, start_step)
    return next((s for e in events[first:] + events[:first] for s in e.sentences), None)


def start_worker_if_cold(voiced: VoicedCache, timeline: Timeline, start_step: int = 1) -> None:
    """When the opening sentence is not cached and the engine speaks in a worker process (Piper),
    start that worker now, so that it loads its model while the history and the sound device
    are opened; start_ahead's render takes it. A warm start starts nothing."""
    opening = opening_sentence(timeline, start_step)
    if voiced.engine.parallel_safe and opening is not None and voiced.missing([opening]):
        from player.speech.workers import start_early

        start_early(voiced.engine.name, voiced.settings, voiced.voice_id, threads=AHEAD_THREADS)


def start_worker_if_first_run(cache_dir: Path):
    """An `on_engine` for app.voiced: with no clip cached at all (a first run), a worker is
    started at once, before the model is hashed and numpy imported; otherwise it waits for
    start_worker_if_cold to see if the opening sentence is missing."""

    def start(engine, settings) -> None:
        if engine.parallel_safe and not any(Path(cache_dir).glob("??/*.wav")):
            from player.speech.workers import start_early

            start_early(engine.name, settings, engine.resolve_voice(settings.voice), threads=AHEAD_THREADS)

    return start


def end_early_worker() -> None:
    """End a worker started early that no render took (playback never began)."""
    from player.speech.workers import discard_early

    discard_early()


def start_ahead(voiced: VoicedCache, timeline: Timeline, start_step: int = 1) -> AheadOfTheListener:
    """Make the opening sentence's clip now, so sound can start at once, and the rest in the
    background in playing order (from `start_step`, then what comes before it). The player
    waits for each later sentence as it comes to it (playback._clip_when_ready)."""
    events = timeline.events
    first = first_event_of_step(events, start_step)
    ordered = events[first:] + events[:first]
    opening = opening_sentence(timeline, start_step)
    sentences = list(dict.fromkeys(s for e in ordered for s in e.sentences))
    if not voiced.engine.parallel_safe:
        if opening is not None:
            render_missing(voiced, [opening])
        return AheadOfTheListener(voiced, sentences).start()
    # The worker makes the opening sentence first: wait for it (or for what stopped it).
    ahead = AheadOfTheListener(voiced, sentences).start()
    try:
        while opening is not None and voiced.missing([opening]) and ahead.working():
            time.sleep(0.005)
        ahead.working()
    except BaseException:  # Ctrl-C, or what stopped the worker: it ends here, not at exit
        ahead.stop()
        raise
    return ahead
