"""Shared fixtures: user paths in tmp_path, a fake engine, and script-writing helpers."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from player.speech import Voice, VoiceSettings
from player.timeline import SAMPLE_RATE

ROOT = Path(__file__).resolve().parent.parent


def has_program(name: str) -> bool:
    return shutil.which(name) is not None


# Tests of the real espeak-ng (through pyttsx3 or its own CLI): marked `espeak`, so `make check`
# leaves them out, and skipped with the reason where espeak-ng is not installed.
ESPEAK_MARKS = [pytest.mark.espeak,
                pytest.mark.skipif(not has_program("espeak-ng"), reason="espeak-ng is not installed")]


def needs_espeak(test):
    for mark in ESPEAK_MARKS:
        test = mark(test)
    return test


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    """Every test gets its own cache and home, never the developer's."""
    monkeypatch.setenv("GUIDED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GUIDED_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    # The suite names its engine: the best installed one (Piper, when there) is tested on its own.
    monkeypatch.setenv("GUIDED_ENGINE", "pyttsx3")
    return tmp_path


class FakeEngine:
    """Fast and deterministic: a tone whose length follows the word count; records each text."""

    name = "fake"
    parallel_safe = False

    def __init__(self, seconds_per_word: float = 0.1):
        self.seconds_per_word = seconds_per_word
        self.texts: list[str] = []
        self.closed = False

    def synthesize(self, text, voice, rate, volume):
        self.texts.append(text)
        n = int(SAMPLE_RATE * self.seconds_per_word * len(text.split()) * 150 / rate)
        t = np.arange(n) / SAMPLE_RATE
        tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
        pad = np.zeros(int(0.1 * SAMPLE_RATE))
        return np.round(np.concatenate([pad, tone, pad]) * 32767).astype(np.int16)

    def voices(self):
        return [Voice("fake/one", "Fake One", ("en",)), Voice("fake/two", "Fake Two", ("en",))]

    def resolve_voice(self, voice):
        from player.speech import resolve_voice_in

        return "fake/one" if voice is None else resolve_voice_in(self.voices(), voice)

    def cache_identity(self, settings: VoiceSettings) -> dict:
        return {"engine": "fake", "voice": self.resolve_voice(settings.voice), "rate": settings.rate,
                "volume": settings.volume}

    def prepare(self, voice):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def fake_engine(monkeypatch):
    """A FakeEngine that the CLI uses in place of pyttsx3."""
    engine = FakeEngine()
    monkeypatch.setattr("player.app.default_engines", lambda name="pyttsx3", state_dir=None, threads=None: engine)
    return engine


@pytest.fixture
def fake_session(tmp_path, write_script):
    """Plan a script with the fake engine, its clips rendered: returns (timeline, voiced)."""
    from player.cache import ClipCache, VoicedCache
    from player.script import load_session
    from player.speech.render import render_missing
    from player.timeline import TimingOptions, build_timeline, plan

    def prepare(text: str, **options):
        voiced = VoicedCache(ClipCache(tmp_path / "clips"), FakeEngine(), VoiceSettings())
        session, timing = load_session(write_script(text)), TimingOptions(**options)
        render_missing(voiced, build_timeline(session, timing, voiced.settings.rate).sentences())
        return plan(session, timing, voiced.settings.rate, voiced.frames), voiced

    return prepare


@pytest.fixture
def write_script(tmp_path):
    """Write a YAML script (dedented) and return its path."""

    def write(text: str, name: str = "session.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


def run_env(tmp_path: Path, **extra) -> dict:
    """Environment for running `guided` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
    env.update(GUIDED_CACHE_DIR=str(tmp_path / "cache"), GUIDED_HOME=str(tmp_path / "home"),
               PYGAME_HIDE_SUPPORT_PROMPT="1", PYTHONUNBUFFERED="1", GUIDED_ENGINE="pyttsx3")
    env.update(extra)
    return env


GUIDED = [sys.executable, "-m", "player"]
