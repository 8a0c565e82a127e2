"""The clip cache: content-addressed WAV files, one per sentence, written atomically.

The key is the sha256 of the engine's identity (name, versions, voice, rate, volume) and the
exact text, so a warm run synthesizes nothing and a changed setting never plays a stale clip.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from player.errors import GuidedError, SpeechError
from player.script import Session
from player.speech import CONDITIONING, Engine, VoiceSettings, check_clip, condition_clip, make_clip
from player.timeline import Timeline, TimingOptions, build_timeline, first_event_of_step, fit_pause_scale
from player.wavfile import ClipFileError, clip_frames, read_clip, write_clip


class CacheError(GuidedError):
    """The cache folder cannot be used."""


def clip_key(identity: dict, text: str) -> str:
    blob = json.dumps({"identity": identity, "text": text}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RenderReport:
    synthesized: int
    cached: int


class ClipCache:
    """Clips stored as <dir>/<key[:2]>/<key>.wav."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.wav"

    def frames(self, key: str) -> int | None:
        """A cached clip's length in samples, from its header; None when absent or damaged."""
        return clip_frames(self.path_for(key))

    def load(self, key: str) -> np.ndarray | None:
        """A cached clip's samples, or None when absent; a damaged entry is removed, never played."""
        path = self.path_for(key)
        if not path.exists():
            return None
        try:
            samples = read_clip(path)
        except ClipFileError:
            samples = np.zeros(0, dtype=np.int16)
        if samples.size == 0:
            path.unlink(missing_ok=True)
            return None
        return samples

    def store(self, key: str, samples: np.ndarray) -> None:
        """Write atomically: a temp file in the same folder, then os.replace."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".part-", suffix=".wav", dir=path.parent)
        except OSError as exc:
            raise CacheError(f"cannot write to the clip cache {self.directory}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                write_clip(f, samples)
            # No fsync: a clip cut short by a crash is caught by load() and made again.
            os.replace(temp, path)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise CacheError(f"cannot write to the clip cache {self.directory}: {exc.strerror}") from None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def entries(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.glob("??/*.wav") if p.is_file()]

    def info(self) -> dict:
        entries = self.entries()
        return {
            "path": str(self.directory),
            "clips": len(entries),
            "bytes": sum(p.stat().st_size for p in entries),
        }

    def clear(self) -> int:
        """Remove every clip (and stray partial files); return how many clips were removed."""
        entries = self.entries()
        for path in entries:
            path.unlink(missing_ok=True)
        for stray in self.directory.glob("??/.part-*"):
            stray.unlink(missing_ok=True)
        for folder in self.directory.glob("??"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return len(entries)


class VoicedCache:
    """The cache seen through one engine and voice settings: sentences in, clips out."""

    def __init__(self, cache: ClipCache, engine: Engine, settings: VoiceSettings):
        self.cache = cache
        self.engine = engine
        self.settings = settings
        self.identity = {**engine.cache_identity(settings), "conditioning": CONDITIONING}
        self._speaking = threading.Lock()  # one thread at a time uses the engine
        self.voice_id = self.identity["voice"]

    def key(self, sentence: str) -> str:
        return clip_key(self.identity, sentence)

    def frames(self, sentence: str) -> int | None:
        return self.cache.frames(self.key(sentence))

    def clip(self, sentence: str) -> np.ndarray:
        """The clip for `sentence`, synthesized now if it is missing or damaged."""
        key = self.key(sentence)
        samples = self.cache.load(key)
        if samples is None:
            with self._speaking:
                samples = make_clip(self.engine, sentence, self.settings, self.voice_id)
            self.cache.store(key, samples)
        return samples

    def render_missing(
        self,
        sentences: Iterable[str],
        progress: Callable[[int], None] = lambda n: None,
        jobs: int = 1,
        threads: int | None = 1,
        stop: threading.Event | None = None,
    ) -> RenderReport:
        """Synthesize every sentence not yet cached (or damaged); count what was done.
        `progress(1)` is called for each clip synthesized.

        Engines safe in worker processes (Piper, espeak-ng) speak in `jobs` of them, each on
        `threads` cores (None: every core), supervised, until `stop` is set (see
        clips_in_parallel). Otherwise the engine speaks the next sentence while a second thread
        checks, levels and stores the last one; a clip that fails its check is made again with
        make_clip's own retry."""
        unique = list(dict.fromkeys(sentences))
        todo = []
        for sentence in unique:
            key = self.key(sentence)
            # A whole header and file size is enough to count a clip as made: load() still
            # checks it when it is played, and a damaged one is made again then.
            if self.cache.frames(key) is None:
                todo.append(sentence)
        if todo and getattr(self.engine, "parallel_safe", False):
            self._render_in_parallel(todo, progress, jobs, threads, stop)
        elif todo:
            with self._speaking:
                self._render_here(todo, progress)
        return RenderReport(len(todo), len(unique) - len(todo))

    def _render_here(self, todo: list[str], progress: Callable[[int], None]) -> None:
        unspoken: list[str] = []  # the engine failed: not yet counted
        unfit: list[str] = []  # spoken, but the clip failed its check: counted already
        with ThreadPoolExecutor(max_workers=1) as finisher:
            finished = []
            for sentence in todo:
                try:
                    raw = self.engine.synthesize(sentence, self.voice_id, self.settings.rate, 1.0)
                except SpeechError:
                    unspoken.append(sentence)
                    continue
                finished.append((sentence, finisher.submit(self._finish, sentence, raw)))
                progress(1)
            unfit += [sentence for sentence, done in finished if not done.result()]
        for sentence in unspoken + unfit:
            self.cache.store(self.key(sentence), make_clip(self.engine, sentence, self.settings, self.voice_id))
            if sentence in unspoken:
                progress(1)

    def _render_in_parallel(self, todo: list[str], progress: Callable[[int], None], jobs: int,
                            threads: int | None, stop: threading.Event | None) -> None:
        """Each worker process has its own engine and makes finished clips; stored here."""
        from player.speech.workers import clips_in_parallel

        clips = clips_in_parallel(self.engine.name, self.settings, self.voice_id, todo, jobs, threads=threads,
                                  stop=stop)
        try:
            for sentence, clip in clips:
                if isinstance(clip, str):
                    raise SpeechError(clip)
                self.cache.store(self.key(sentence), clip)
                progress(1)
        finally:
            clips.close()  # the workers end here, whichever way the loop did

    def _finish(self, sentence: str, raw: np.ndarray) -> bool:
        """Check, level and store one synthesized clip; False if it is not fit to keep."""
        if check_clip(raw, sentence, self.settings.rate) is not None:
            return False
        self.cache.store(self.key(sentence), condition_clip(raw, self.settings.volume))
        return True


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
            if getattr(self.voiced.engine, "parallel_safe", False):  # one worker, every core
                self.voiced.render_missing(sentences, jobs=1, threads=None, stop=self._stop)
                return
            for sentence in sentences:
                if self._stop.is_set():
                    return
                self.voiced.render_missing([sentence])
        except GuidedError as exc:  # handed to the player, which reports it
            self.error = exc
        except Exception as exc:
            self.error = SpeechError(f"speech could not be made: {type(exc).__name__}: {exc}")

    def working(self) -> bool:
        """True while clips are still being made; raises what stopped them, if anything did."""
        if self.error is not None:
            raise self.error
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def start_ahead(voiced: VoicedCache, timeline: Timeline, start_step: int = 1) -> AheadOfTheListener:
    """Make the first spoken passage's clips now, so sound can start at once, and the rest in
    the background in playing order (from `start_step`, then what comes before it)."""
    events = timeline.events
    first = first_event_of_step(events, start_step)
    ordered = events[first:] + events[:first]
    opening = next((e for e in ordered if e.kind == "say"), None)
    sentences = list(dict.fromkeys(s for e in ordered for s in e.sentences))
    if not getattr(voiced.engine, "parallel_safe", False):
        if opening is not None:
            voiced.render_missing(list(opening.sentences))
        return AheadOfTheListener(voiced, sentences).start()
    # The worker makes the opening passage first: wait for it (or for what stopped it).
    ahead = AheadOfTheListener(voiced, sentences).start()
    try:
        while opening is not None and any(voiced.frames(s) is None for s in opening.sentences) and ahead.working():
            time.sleep(0.005)
        ahead.working()
    except BaseException:  # Ctrl-C, or what stopped the worker: it ends here, not at exit
        ahead.stop()
        raise
    return ahead


def plan(session: Session, timing: TimingOptions, voiced: VoicedCache, minutes: float | None = None) -> Timeline:
    """The timeline with cached clips' exact lengths (estimated where a clip is missing);
    with `minutes`, its silences scaled so that it lasts that long."""
    rate = voiced.settings.rate
    if minutes is not None:
        natural = build_timeline(session, replace(timing, pause_scale=1.0), rate, voiced.frames)
        timing = replace(timing, pause_scale=fit_pause_scale(natural, minutes))
    return build_timeline(session, timing, rate, voiced.frames)
