"""The clip cache: content-addressed WAV files, one per sentence, written atomically.

The key is the sha256 of the engine's identity (name, versions, voice, rate, volume) and the
exact text, so a warm run synthesizes nothing and a changed setting never plays a stale clip.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from player.atomic import PART_SUFFIX, replacing, sweep
from player.errors import CacheError
from player.speech import Engine, VoiceSettings
from player.speech.clips import CONDITIONING
from player.wavfile import ClipFileError, clip_frames, read_clip, write_clip

CLIP_NAME = re.compile(r"[0-9a-f]{64}\.wav")


def clip_key(identity: dict, text: str) -> str:
    blob = json.dumps({"identity": identity, "text": text}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


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
        """Write atomically (see atomic.replacing: locked while written, so `sweep` knows it
        is in use). No fsync: a clip cut short by a crash is caught by load() and made again."""
        path = self.path_for(key)
        try:
            if path.is_dir() and not path.is_symlink():
                self._remove(path)
            # `cache clear` in another run may remove the folder at any moment: between making it
            # and writing in it, or even inside mkdir (which then says it exists, and it is gone).
            for attempt in range(3):
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self._write(path, samples)
                    break
                except (FileNotFoundError, FileExistsError):
                    if attempt == 2:
                        raise
        except OSError as exc:
            raise CacheError(cannot_write(self.directory, exc)) from None

    @staticmethod
    def _write(path: Path, samples: np.ndarray) -> None:
        with replacing(path) as temp, open(temp, "wb") as f:
            write_clip(f, samples)

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
                    if stray.name.endswith(PART_SUFFIX):
                        sweep([stray])  # one still being written (another run) is left to its writer
                    elif CLIP_NAME.fullmatch(stray.name) and stray.is_dir():
                        self._remove(stray)
                try:
                    folder.rmdir()
                except OSError as exc:  # not empty (another run stored a clip meanwhile), or gone
                    if exc.errno not in (errno.ENOTEMPTY, errno.ENOENT):
                        raise
        except OSError as exc:
            raise CacheError(f"cannot clear the clip cache {self.directory}: {exc.strerror}") from None
        return len(entries)

    def sweep(self) -> int:
        """Remove partial files left by a process that was killed while writing (a writer holds
        a lock on its own, so one being written now is left alone); return how many."""
        return sweep([part for folder in self._clip_folders() for part in folder.glob(f".*{PART_SUFFIX}")])

    def _clip_folders(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [f for f in self.directory.glob("??") if re.fullmatch(r"[0-9a-f]{2}", f.name) and f.is_dir()]


def cannot_write(directory: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"the disk is full: cannot write to the clip cache {directory}; free some space and try again"
    return f"cannot write to the clip cache {directory}: {exc.strerror or exc}"


class VoicedCache:
    """The cache seen through one engine and voice settings: sentences in, clips out. It only
    reads and stores; clips are made by speech.render before anything plays them."""

    def __init__(self, cache: ClipCache, engine: Engine, settings: VoiceSettings):
        self.cache = cache
        with contextlib.suppress(OSError):
            cache.sweep()  # what a killed run left behind
        self.engine = engine
        self.settings = settings
        self.identity = {**engine.cache_identity(settings), "conditioning": CONDITIONING}
        self.voice_id = self.identity["voice"]

    def key(self, sentence: str) -> str:
        return clip_key(self.identity, sentence)

    def frames(self, sentence: str) -> int | None:
        return self.cache.frames(self.key(sentence))

    def clip(self, sentence: str) -> np.ndarray:
        """The cached clip for `sentence`. Clips are made before the audio stage runs (see
        speech.render), so a missing one means it was removed meanwhile: CacheError."""
        samples = self.cache.load(self.key(sentence))
        if samples is None:
            raise CacheError(f"the clip for {sentence[:60]!r} is no longer in {self.cache.directory}; "
                             "it was removed while in use: run the command again")
        return samples

    def store(self, sentence: str, samples: np.ndarray) -> None:
        self.cache.store(self.key(sentence), samples)

    def missing(self, sentences: Iterable[str]) -> list[str]:
        """The distinct sentences with no whole clip yet, in order. A whole header and file size
        is enough to count a clip as made: load() still checks it when it is played."""
        return [s for s in dict.fromkeys(sentences) if self.frames(s) is None]
