"""The espeak-ng program itself, one process a sentence: synchronous and deterministic, for
where pyttsx3 misbehaves. Its voices are the same ones pyttsx3 uses on Linux."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from player.errors import SpeechError
from player.speech import Voice, VoiceSettings, resolve_voice_in
from player.speech.clips import read_engine_clip

DEFAULT_VOICE = "gmw/en"
TIMEOUT_S = 30.0


class EspeakNgEngine:
    name = "espeak-ng"
    parallel_safe = True  # each process has its own engine; clips are checked all the same

    def __init__(self):
        self.program = shutil.which("espeak-ng")
        if self.program is None:
            raise SpeechError("the espeak-ng program is not installed: run 'sudo apt-get install espeak-ng'")
        self._voices: list[Voice] | None = None
        self._version: str | None = None

    def voices(self) -> list[Voice]:
        if self._voices is None:
            listing = self._run(["--voices"]).splitlines()[1:]
            self._voices = []
            for line in listing:
                fields = line.split()
                if len(fields) >= 5:  # priority, language, age/gender, name, file, [others]
                    # ids in lower case, as pyttsx3 gives them: the same voice has the same id
                    self._voices.append(Voice(fields[4].lower(), fields[3].replace("_", " "), (fields[1],)))
        return self._voices

    def resolve_voice(self, voice: str | None) -> str:
        return resolve_voice_in(self.voices(), voice or DEFAULT_VOICE)

    def cache_identity(self, settings: VoiceSettings) -> dict:
        if self._version is None:
            self._version = self._run(["--version"]).strip()
        return {"engine": self.name, "version": self._version, "voice": self.resolve_voice(settings.voice),
                "rate": settings.rate, "volume": settings.volume}

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> np.ndarray:
        if not text.strip():
            raise SpeechError("nothing to say: the text is empty")
        fd, path = tempfile.mkstemp(prefix="guided-", suffix=".wav")
        os.close(fd)
        try:
            self._run(["-v", voice, "-s", str(rate), "-a", str(round(volume * 100)), "-w", path, "--", text])
            return read_engine_clip(Path(path), "espeak-ng")
        finally:
            Path(path).unlink(missing_ok=True)

    def prepare(self, voice: str) -> None:
        """Nothing to load: espeak-ng starts afresh for each sentence."""

    def close(self) -> None:
        pass

    def _run(self, args: list[str]) -> str:
        try:
            result = subprocess.run([self.program, *args], capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise SpeechError(f"espeak-ng did not finish within {TIMEOUT_S:.0f}s") from None
        if result.returncode != 0:
            raise SpeechError(f"espeak-ng failed: {result.stderr.strip() or f'exit status {result.returncode}'}")
        return result.stdout
