"""Stage 3: speech. Engines turn a sentence into samples (this module: their interface, and
choosing one); `clips.make_clip` checks and conditions what they make; `render` fills the cache.

An engine is anything with this small interface (see `Engine`), so more engines can be added
beside the default pyttsx3 one without touching the rest of the pipeline. Importing this module
is light: numpy and the engines are imported when a clip is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from player.atomic import replacing
from player.errors import SpeechError
from player.limits import DEFAULT_RATE, ENGINES

if TYPE_CHECKING:
    import numpy as np



@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class VoiceSettings:
    voice: str | None = None  # None: the engine's default voice
    rate: int = DEFAULT_RATE
    volume: float = 1.0


class Engine(Protocol):
    name: str
    parallel_safe: bool  # True: several worker processes may each run one at once (piper, espeak-ng)

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> np.ndarray:
        """Mono int16 samples at SAMPLE_RATE for `text` (one sentence)."""

    def voices(self) -> list[Voice]:
        """Every voice the engine offers."""

    def resolve_voice(self, voice: str | None) -> str:
        """The id of `voice` (an id or a name), or of the default voice; SpeechError if unknown."""

    def cache_identity(self, settings: VoiceSettings) -> dict:
        """What makes this engine's clips differ: name, versions, voice, rate, volume."""

    def close(self) -> None:
        """Release the engine's resources (worker processes)."""


def get_engine(name: str = "pyttsx3", state_dir: Path | None = None, threads: int | None = None) -> Engine:
    """The engine called `name`; `state_dir` is where it may remember what it learnt about the
    system (its voices and versions) between runs; `threads`, how many cores one clip may use
    (Piper; None: every core)."""
    if name == "pyttsx3":
        from player.speech.pyttsx3_engine import Pyttsx3Engine

        return Pyttsx3Engine(info_dir=state_dir)
    if name == "espeak-ng":
        from player.speech.espeak_engine import EspeakNgEngine

        return EspeakNgEngine()
    if name == "piper":
        from player.speech.piper_engine import PiperEngine

        return PiperEngine(threads, state_dir)
    raise SpeechError(f"unknown speech engine '{name}' (available: {', '.join(ENGINES)})")


def recall(path: Path | None) -> dict | None:
    """What an engine remembered at `path` on an earlier run (see `remember`); None if nothing
    readable is there."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (AttributeError, OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


def remember(path: Path | None, record: dict) -> None:
    """Keep `record` at `path` as JSON, written atomically, for the next run. It only saves
    time: if it cannot be written, the engine finds the same out again next time."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as temp:
            temp.write_text(json.dumps(record), encoding="utf-8")
    except OSError:
        pass


def resolve_voice_in(voices: list[Voice], voice: str) -> str:
    """Match `voice` against ids, then names (case-insensitive); SpeechError listing the ids."""
    wanted = voice.strip().lower()
    for candidate in voices:
        if candidate.id.lower() == wanted:
            return candidate.id
    for candidate in voices:
        if candidate.name.lower() == wanted:
            return candidate.id
    ids = ", ".join(v.id for v in voices)
    raise SpeechError(f"unknown voice '{voice}'; valid ids (see 'guided voices'): {ids}")


