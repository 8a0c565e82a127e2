"""The clip cache: content-addressed WAV files, one per sentence, written atomically.

The key is the sha256 of the engine's identity (name, versions, voice, rate, volume) and the
exact text, so a warm run synthesizes nothing and a changed setting never plays a stale clip.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from player.atomic import PART_SUFFIX, replacing
from player.errors import CacheError
from player.speech import Engine, VoiceSettings
from player.speech.clips import CONDITIONING
from player.wavfile import ClipFileError, clip_frames, read_clip, write_clip


def clip_key(identity: dict, text: str) -> str:
    blob = json.dumps({"identity": identity, "text": text}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


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
        """Write atomically (see atomic.replacing). No fsync: a clip cut short by a crash is
        caught by load() and made again."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with replacing(path) as temp, open(temp, "wb") as f:
                write_clip(f, samples)
        except OSError as exc:
            raise CacheError(f"cannot write to the clip cache {self.directory}: {exc.strerror}") from None

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
        for stray in self.directory.glob(f"??/.*{PART_SUFFIX}"):
            stray.unlink(missing_ok=True)
        for folder in self.directory.glob("??"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return len(entries)


class VoicedCache:
    """The cache seen through one engine and voice settings: sentences in, clips out. It only
    reads and stores; clips are made by speech.render before anything plays them."""

    def __init__(self, cache: ClipCache, engine: Engine, settings: VoiceSettings):
        self.cache = cache
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
