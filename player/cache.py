"""The clip cache: content-addressed WAV files, one per sentence, written atomically.

The key is the sha256 of the engine's identity (name, versions, voice, rate, volume) and the
exact text, so a warm run synthesizes nothing and a changed setting never plays a stale clip.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
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


CLIP_NAME = re.compile(r"[0-9a-f]{64}\.wav")


class ClipCache:
    """Clips stored as <dir>/<key[:2]>/<key>.wav. Only files with that name pattern are the
    cache's: `entries`, `info` and `clear` never count or touch anything else in the folder."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.wav"

    def frames(self, key: str) -> int | None:
        """A cached clip's length in samples, from its header; None when absent or damaged."""
        return clip_frames(self.path_for(key))

    def load(self, key: str) -> np.ndarray | None:
        """A cached clip's samples, or None when absent; a damaged entry (a folder in its place
        included) is removed, never played."""
        path = self.path_for(key)
        if path.is_dir() and not path.is_symlink():
            self._remove(path)
            return None
        if not path.exists():
            return None
        try:
            samples = read_clip(path)
        except (ClipFileError, OSError):
            samples = np.zeros(0, dtype=np.int16)
        if samples.size == 0:
            self._remove(path)
            return None
        return samples

    def store(self, key: str, samples: np.ndarray) -> None:
        """Write atomically: a temp file in the same folder, locked while it is written (so
        `sweep` knows it is in use), then os.replace."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir() and not path.is_symlink():
                self._remove(path)
            fd, temp = tempfile.mkstemp(prefix=PART_PREFIX, suffix=".wav", dir=path.parent)
        except OSError as exc:
            raise CacheError(_cannot_write(self.directory, exc)) from None
        try:
            with os.fdopen(fd, "wb") as f:
                _lock(f.fileno())
                write_clip(f, samples)
                # No fsync: a clip cut short by a crash is caught by load() and made again.
                os.replace(temp, path)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise CacheError(_cannot_write(self.directory, exc)) from None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _remove(self, path: Path) -> None:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot remove the damaged clip {path}: {exc.strerror}; remove it by hand") from None

    def entries(self) -> list[Path]:
        """Every clip file: <2 hex>/<64 hex>.wav whose folder is its key's start."""
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.glob("??/*.wav")
                if CLIP_NAME.fullmatch(p.name) and p.parent.name == p.name[:2] and p.is_file()]

    def info(self) -> dict:
        """Clips that can be played (a whole header and size); damaged ones counted apart."""
        entries = self.entries()
        whole = [p for p in entries if clip_frames(p) is not None]
        return {
            "path": str(self.directory),
            "clips": len(whole),
            "damaged": len(entries) - len(whole),
            "bytes": sum(p.stat().st_size for p in whole),
        }

    def clear(self) -> int:
        """Remove every clip (and the cache's own leftovers: partial files, a folder where a
        clip belongs); return how many clips were removed. Other files are left alone."""
        entries = self.entries()
        try:
            for path in entries:
                path.unlink(missing_ok=True)
            for folder in self._clip_folders():
                for stray in folder.iterdir():
                    if stray.name.startswith(PART_PREFIX) or (CLIP_NAME.fullmatch(stray.name) and stray.is_dir()):
                        self._remove(stray)
                if not any(folder.iterdir()):
                    folder.rmdir()
        except OSError as exc:
            raise CacheError(f"cannot clear the clip cache {self.directory}: {exc.strerror}") from None
        return len(entries)

    def sweep(self) -> int:
        """Remove partial files left by a process that was killed while writing (a writer holds
        a lock on its own, so one being written now is left alone); return how many."""
        removed = 0
        for folder in self._clip_folders():
            for stray in folder.glob(f"{PART_PREFIX}*"):
                if _unlocked(stray):
                    stray.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _clip_folders(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [f for f in self.directory.glob("??") if re.fullmatch(r"[0-9a-f]{2}", f.name) and f.is_dir()]


PART_PREFIX = ".part-"


def _cannot_write(directory: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"the disk is full: cannot write to the clip cache {directory}; free some space and try again"
    return f"cannot write to the clip cache {directory}: {exc.strerror or exc}"


def _lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlocked(path: Path) -> bool:
    """True when no process holds a lock on the file at `path` (its writer is gone)."""
    try:
        with open(path, "rb") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class VoicedCache:
    """The cache seen through one engine and voice settings: sentences in, clips out."""

    def __init__(self, cache: ClipCache, engine: Engine, settings: VoiceSettings):
        self.cache = cache
        with contextlib.suppress(OSError):
            cache.sweep()  # what a killed run left behind
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
