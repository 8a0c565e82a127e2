"""The engine that always works: pyttsx3 (espeak-ng on Linux, NSSpeechSynthesizer on macOS, SAPI5 on Windows).

pyttsx3 2.99 loses audio silently in several ways, so it never runs in our process. A worker
started with `spawn` (a forked child of an initialised pyttsx3 hangs) owns one pyttsx3 engine
and takes one sentence at a time: one `save_to_file` per `runAndWait`, then it waits until the
file is complete. The parent kills a worker that does not answer in time, and starts a new one.
Its stdout goes to /dev/null, so pyttsx3's "Audio saved to …" never reaches ours.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from player.atomic import is_abandoned
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
SETTLE_TIMEOUT_S = 2.0


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
        self._tempdir, self._lock = _worker_folder(Path(info_dir) if info_dir else None)

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
        if self._lock is not None:
            self._lock.close()
            self._lock = None

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


TEMP_PREFIX = ".tts-"


def _worker_folder(home: Path | None) -> tuple[tempfile.TemporaryDirectory, object | None]:
    """A folder for the worker's files inside `home` (the cache folder), not /tmp, and a lock
    held on it while this engine lives; folders whose lock no one holds were left by a killed
    run, and are removed first."""
    if home is None:
        return tempfile.TemporaryDirectory(prefix="guided-tts-"), None
    try:
        home.mkdir(parents=True, exist_ok=True)
        for stale in home.glob(f"{TEMP_PREFIX}*"):
            if stale.is_dir() and is_abandoned(stale / "lock"):
                shutil.rmtree(stale, ignore_errors=True)
        folder = tempfile.TemporaryDirectory(prefix=TEMP_PREFIX, dir=home)
        lock = open(Path(folder.name) / "lock", "wb")  # noqa: SIM115 - held for the engine's life
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return folder, lock
    except OSError:  # a cache folder that cannot be written: /tmp will do
        return tempfile.TemporaryDirectory(prefix="guided-tts-"), None


def _worker_main(conn, settings: tuple | None) -> None:
    """Runs in the spawned worker: one pyttsx3 engine with fixed settings (set again for each
    sentence, see _save), one request at a time."""
    ignore_ctrl_c()  # Ctrl-C is the parent's to handle
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    try:
        import pyttsx3

        engine = pyttsx3.init()
        _shorten_the_drivers_nap()
    except Exception as exc:  # the parent turns this into one clear line
        with contextlib.suppress(OSError, EOFError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):  # the parent has gone
            return
        if request[0] == "quit":
            return
        try:
            if request[0] == "info":
                reply = ("ok", _describe(engine))
            else:
                _, text, path = request
                _save(engine, text, Path(path), settings)
                reply = ("ok", path)
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (OSError, EOFError):  # BrokenPipe, ConnectionReset: nobody is waiting for it
            return


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


def _save(engine, text: str, path: Path, settings: tuple | None) -> None:
    """One save_to_file per runAndWait, then wait for the whole file. espeak-ng through pyttsx3
    now and then writes a header with no audio (about one sentence in a hundred, seen in a
    worker process); saying it again mends it, so try a few times before the parent judges.

    The voice, rate and volume are set again before every sentence, in the same run as it, so
    a clip depends on its own settings only, never on what the worker said before. pyttsx3
    ignores the status of espeak-ng's parameter calls, and about one worker in fifty lost the
    rate it was given and spoke everything at the driver's default (200 wpm, 25% fast): the
    rate is read back once the file is complete, and a clip made at another rate is made again."""
    for _ in range(EMPTY_FILE_RETRIES):
        path.unlink(missing_ok=True)
        if settings is not None:
            _apply(engine, settings)
        engine.save_to_file(text, str(path))
        engine.runAndWait()
        complete = _wait_for_complete_wav(path) > WAV_HEADER_BYTES
        if complete and (settings is None or _settings_held(engine, settings)):
            return
    if settings is not None and not _settings_held(engine, settings):
        path.unlink(missing_ok=True)
        raise RuntimeError(f"the engine did not keep the rate {settings[1]} (it spoke at {engine.getProperty('rate')})")


def _apply(engine, settings: tuple) -> None:
    """Set the voice, rate and volume for the next sentence. With espeak-ng they are set at once
    and the worker waits until espeak-ng reports them (its parameter calls are queued to its
    own thread, and a voice change resets the rate meanwhile); other drivers queue them."""
    voice, rate, volume = settings
    espeak = sys.modules.get("pyttsx3.drivers._espeak")
    if espeak is None or type(engine.proxy._driver).__module__ != "pyttsx3.drivers.espeak":
        engine.setProperty("voice", voice)
        engine.setProperty("rate", rate)
        engine.setProperty("volume", volume)
        return
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        espeak.SetVoiceByName(str(voice).encode("utf-8"))
        espeak.SetParameter(espeak.RATE, int(rate), 0)
        espeak.SetParameter(espeak.VOLUME, round(volume * 100), 0)
        for _ in range(100):
            if espeak.GetParameter(espeak.RATE) == int(rate) and not espeak.IsPlaying():
                return
            time.sleep(0.002)
        if time.monotonic() > deadline:
            return  # _settings_held judges the clip


def _settings_held(engine, settings: tuple) -> bool:
    """True when the driver reports the rate and volume it was given (read after the sentence)."""
    _, rate, volume = settings
    try:
        return int(engine.getProperty("rate")) == int(rate) and abs(float(engine.getProperty("volume")) - volume) < 0.02
    except (KeyError, TypeError, ValueError):  # a driver that cannot say: trust it
        return True


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
