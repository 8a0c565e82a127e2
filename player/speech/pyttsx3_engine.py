"""The default engine: pyttsx3 (espeak-ng on Linux, NSSpeechSynthesizer on macOS, SAPI5 on Windows).

pyttsx3 2.99 loses audio silently in several ways, so it never runs in our process. A worker
started with `spawn` (a forked child of an initialised pyttsx3 hangs) owns one pyttsx3 engine
and takes one sentence at a time: one `save_to_file` per `runAndWait`, then it waits until the
file is complete. The parent kills a worker that does not answer in time, and starts a new one.
Its stdout goes to /dev/null, so pyttsx3's "Audio saved to …" never reaches ours.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from player.errors import SpeechError
from player.speech import Voice, VoiceSettings, recall, remember, resolve_voice_in
from player.speech.clips import read_engine_clip
from player.speech.workers import SPAWN, ignore_ctrl_c, spawning

SENTENCE_TIMEOUT_S = 30.0
START_TIMEOUT_S = 30.0
FILE_SETTLE_TIMEOUT_S = 5.0
INFO_MAX_AGE_S = 24 * 3600
WAV_HEADER_BYTES = 44
EMPTY_FILE_RETRIES = 4
DRIVER_NAP_S = 0.0005


class Pyttsx3Engine:
    """pyttsx3 in a supervised worker process."""

    name = "pyttsx3"
    parallel_safe = False  # several pyttsx3 processes at once have made empty or mispaced clips

    def __init__(self, timeout: float = SENTENCE_TIMEOUT_S, info_dir: Path | None = None):
        self.timeout = timeout
        self._info_file = Path(info_dir) / "engine-pyttsx3.json" if info_dir else None
        self._process = None
        self._conn = None
        self._info: dict | None = None
        self._settings: tuple | None = None  # (voice, rate, volume) of the running worker
        self._tempdir = tempfile.TemporaryDirectory(prefix="guided-tts-")

    # -- the interface

    def voices(self) -> list[Voice]:
        return [Voice(v["id"], v["name"], tuple(v["languages"])) for v in self._engine_info()["voices"]]

    def resolve_voice(self, voice: str | None) -> str:
        if voice is None:
            return self._engine_info()["default_voice"]
        return resolve_voice_in(self.voices(), voice)

    def cache_identity(self, settings: VoiceSettings) -> dict:
        info = self._engine_info()
        return {
            "engine": self.name,
            "pyttsx3": info["pyttsx3"],
            "driver": info["driver"],
            "driver_version": info["driver_version"],
            "voice": self.resolve_voice(settings.voice),
            "rate": settings.rate,
            "volume": settings.volume,
        }

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> np.ndarray:
        if not text.strip():
            raise SpeechError("nothing to say: the text is empty")
        fd, path = tempfile.mkstemp(suffix=".wav", dir=self._tempdir.name)
        os.close(fd)
        settings = (voice, rate, volume)
        if self._settings != settings:
            # A worker keeps the settings it started with: espeak-ng applies later changes
            # unreliably (a clip can come out at the previous sentence's rate).
            self._stop_worker()
            self._settings = settings
        try:
            reply = self._ask(("say", text, path), self.timeout)
            if reply[0] != "ok":
                raise SpeechError(reply[1])
            return read_engine_clip(Path(path), "pyttsx3")
        finally:
            Path(path).unlink(missing_ok=True)

    def prepare(self, voice: str) -> None:
        """Nothing to load ahead: its worker starts with the first sentence."""

    def close(self) -> None:
        self._stop_worker()
        self._tempdir.cleanup()

    def _stop_worker(self) -> None:
        if self._process is not None:
            try:
                self._conn.send(("quit",))
                self._process.join(2)
            except (OSError, EOFError):
                pass
            if self._process.is_alive():
                self._process.kill()
            self._process = None
            self._conn = None

    # -- the worker

    def _engine_info(self) -> dict:
        if self._info is None:
            self._info = self._saved_info()
        if self._info is None:
            reply = self._ask(("info",), START_TIMEOUT_S)
            if reply[0] != "ok":
                raise SpeechError(f"pyttsx3 could not start: {reply[1]}")
            self._info = reply[1]
            # Listing voices can leave espeak-ng ignoring the rate set afterwards, so the worker
            # that answered retires; sentences get a fresh one that never lists voices.
            self._stop_worker()
            self._settings = None
            self._save_info()
        return self._info

    def _saved_info(self) -> dict | None:
        """The voices and versions found by an earlier run on this system, if still current:
        asking the engine costs a worker start-up (about 0.15 s) on every command."""
        saved = recall(self._info_file) or {}
        fresh = time.time() - saved.get("saved_at", 0) < INFO_MAX_AGE_S
        return saved.get("info") if fresh and saved.get("system") == _system_fingerprint() else None

    def _save_info(self) -> None:
        remember(self._info_file, {"system": _system_fingerprint(), "saved_at": time.time(), "info": self._info})

    def _start(self) -> None:
        parent, child = SPAWN.Pipe()
        self._process = SPAWN.Process(
            target=_worker_main, args=(child, self._settings), daemon=True, name="guided-tts"
        )
        with spawning():
            self._process.start()
        child.close()
        self._conn = parent

    def _ask(self, request: tuple, timeout: float) -> tuple:
        if self._process is None or not self._process.is_alive():
            self._start()
        deadline = time.monotonic() + timeout
        try:
            self._conn.send(request)
            # Poll in slices so a worker that died is noticed at once, not at the deadline.
            while (left := deadline - time.monotonic()) > 0:
                if self._conn.poll(min(0.05, left)):
                    return self._conn.recv()
                if not self._process.is_alive():
                    return self._restart_after(f"the speech worker stopped (exit code {self._process.exitcode})")
        except (OSError, EOFError):
            return self._restart_after("the speech worker stopped")
        return self._restart_after(f"the speech worker did not answer within {timeout:.0f}s")

    def _restart_after(self, reason: str) -> tuple:
        # Hung or dead: kill it, so the next request starts afresh.
        self._process.kill()
        self._process.join(2)
        self._process = None
        return ("error", reason)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _worker_main(conn, settings: tuple | None) -> None:
    """Runs in the spawned worker: one pyttsx3 engine with fixed settings, one request at a time."""
    ignore_ctrl_c()  # Ctrl-C is the parent's to handle
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    try:
        import pyttsx3

        engine = pyttsx3.init()
        _shorten_the_drivers_nap()
        if settings is not None:
            voice, rate, volume = settings
            engine.setProperty("voice", voice)
            engine.setProperty("rate", rate)
            engine.setProperty("volume", volume)
    except Exception as exc:  # the parent turns this into one clear line
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if request[0] == "quit":
            return
        try:
            if request[0] == "info":
                conn.send(("ok", _describe(engine)))
            elif request[0] == "say":
                _, text, path = request
                _save(engine, text, Path(path))
                conn.send(("ok", path))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _ShortNaps:
    """`time` for pyttsx3's espeak driver, with sleeps of at most DRIVER_NAP_S."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(min(seconds, DRIVER_NAP_S))


def _shorten_the_drivers_nap() -> None:
    """pyttsx3's espeak driver sleeps 10 ms on each turn of its loop, and runAndWait takes at
    least one turn. Its synthesis is synchronous (espeak-ng's retrieval mode): the sentence is
    already written when it sleeps, so that nap was most of the time a sentence took. Other
    drivers are left as they are."""
    driver = sys.modules.get("pyttsx3.drivers.espeak")
    if driver is not None and getattr(driver, "time", None) is time:
        driver.time = _ShortNaps()


def _describe(engine) -> dict:
    voices = []
    for v in engine.getProperty("voices"):
        languages = [str(lang) for lang in (v.languages or [])]
        voices.append({"id": str(v.id), "name": str(v.name or v.id), "languages": languages})
    driver = type(engine.proxy._driver).__module__.rsplit(".", 1)[-1]
    return {
        "voices": voices,
        "default_voice": str(engine.getProperty("voice")),
        "pyttsx3": metadata.version("pyttsx3"),
        "driver": driver,
        "driver_version": _driver_version(driver),
    }


def _system_fingerprint() -> list:
    """What changes when the installed speech system does."""
    program = shutil.which("espeak-ng")
    stamp = None
    if program:
        stat = os.stat(program)
        stamp = [program, stat.st_size, stat.st_mtime]
    return [metadata.version("pyttsx3"), sys.platform, platform.release(), stamp]


def _driver_version(driver: str) -> str:
    if driver == "espeak":
        from pyttsx3.drivers import _espeak

        return (_espeak.Info() or b"").decode("utf-8", "replace")
    return sys.platform


def _save(engine, text: str, path: Path) -> None:
    """One save_to_file per runAndWait, then wait for the whole file. espeak-ng through pyttsx3
    now and then writes a header with no audio (about one sentence in a hundred, seen in a
    worker process); saying it again mends it, so try a few times before the parent judges."""
    for _ in range(EMPTY_FILE_RETRIES):
        path.unlink(missing_ok=True)
        engine.save_to_file(text, str(path))
        engine.runAndWait()
        if _wait_for_complete_wav(path) > WAV_HEADER_BYTES:
            return


def _wait_for_complete_wav(path: Path) -> int:
    """Some drivers return before the file is written: wait until its RIFF header accounts for
    every byte (the header is patched when the writer closes the file); return the size."""
    deadline = time.monotonic() + FILE_SETTLE_TIMEOUT_S
    size = 0
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                head = f.read(8)
                size = os.fstat(f.fileno()).st_size
            if head[:4] == b"RIFF" and int.from_bytes(head[4:8], "little") + 8 == size:
                return size
        except OSError:
            pass
        time.sleep(0.002)
    return size
