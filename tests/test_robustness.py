"""What the attacks of issue 12 found: nothing wrong is kept, nothing hangs, one line per failure."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import needs_espeak

from player.history import MIGRATIONS, History


def _open_history_and_record(path: str) -> None:
    store = History(Path(path))
    store.start("s", "Title", "hash", 3)
    store.close()


@pytest.mark.slow
def test_two_processes_creating_one_history_both_record(tmp_path):
    """The check of which migrations are done happens inside BEGIN IMMEDIATE (issue 12, D1)."""
    spawn = multiprocessing.get_context("spawn")
    for attempt in range(10):
        path = tmp_path / f"h{attempt}.sqlite3"
        workers = [spawn.Process(target=_open_history_and_record, args=(str(path),)) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        assert [w.exitcode for w in workers] == [0, 0]
        db = sqlite3.connect(path)
        assert db.execute("SELECT count(*) FROM plays").fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
        db.close()


def test_history_reads_where_nothing_can_be_written(tmp_path):
    """A read-only folder (as on a read-only mount or a full disk) still reads."""
    import os

    if os.geteuid() == 0:
        pytest.skip("root may write a read-only folder; the read-only mount test covers it")
    home = tmp_path / "ro"
    store = History(home / "history.sqlite3")
    store.start("s", "Title", "hash", 3)
    store.close()
    home.chmod(0o555)
    try:
        reader = History(home / "history.sqlite3", read_only=True)
        assert [p.session_id for p in reader.recent()] == ["s"]
        reader.close()
    finally:
        home.chmod(0o755)


def test_history_reads_on_a_read_only_mount(tmp_path):
    import subprocess

    store = History(tmp_path / "src" / "history.sqlite3")
    store.start("s", "Title", "hash", 3)
    store.close()
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(tmp_path / "src"), str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], capture_output=True, check=False)
        reader = History(mount / "history.sqlite3", read_only=True)
        assert [p.session_id for p in reader.recent()] == ["s"]
        assert reader.summary()["practice_days"] == []
        reader.close()
    finally:
        while str(mount) in Path("/proc/mounts").read_text():
            if subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False).returncode:
                break


def test_a_missing_history_reads_as_empty(tmp_path):
    reader = History(tmp_path / "none" / "history.sqlite3", read_only=True)
    assert reader.recent() == [] and not (tmp_path / "none").exists()
    reader.close()


def _frames(folder: Path) -> int:
    import soundfile

    return sum(soundfile.info(p).frames for p in folder.glob("??/*.wav"))


@needs_espeak
@pytest.mark.slow
def test_repeated_cold_pyttsx3_renders_last_exactly_as_long(tmp_path):
    """A pyttsx3 worker that lost its rate spoke a whole session at 200 wpm (issue 12, W1); and
    a clip depends only on its key (W2): cold renders, each with fresh workers, agree exactly."""
    import hashlib
    import subprocess

    from conftest import GUIDED, run_env

    totals, contents = set(), set()
    for attempt in range(8):
        cache = tmp_path / f"c{attempt}"
        env = run_env(tmp_path, GUIDED_CACHE_DIR=str(cache))
        subprocess.run(GUIDED + ["render", "arriving"], env=env, check=True, capture_output=True, timeout=120)
        totals.add(_frames(cache))
        contents.add(frozenset((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in cache.glob("??/*.wav")))
    assert len(totals) == 1, totals
    assert len(contents) == 1  # every clip byte for byte the same


SLOW_SCRIPT = "title: T\nsummary: S\nsteps:\n  - say: Hello.\n  - pause: 60s\n  - say: Bye.\n"


def wait_for_step(path: Path, step: int, timeout: float = 30) -> None:
    """Until the latest play in the history at `path` has reached `step` (a loaded machine can
    take seconds to start playing)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            plays = History(path, read_only=True)
            try:
                latest = plays.recent(1)
            finally:
                plays.close()
            if latest and latest[0].last_step >= step:
                return
        time.sleep(0.1)
    raise AssertionError(f"the play did not reach step {step} within {timeout}s")


def _start_playing(tmp_path, write_script):
    import subprocess

    from conftest import GUIDED, run_env

    script = write_script(SLOW_SCRIPT)
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(tmp_path / "p.raw"), GUIDED_ENGINE="espeak-ng")
    subprocess.run(GUIDED + ["render", str(script)], env=env, check=True, capture_output=True)
    return subprocess.Popen(GUIDED + ["play", str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


@needs_espeak
@pytest.mark.slow
@pytest.mark.parametrize("signals", [("SIGINT",), ("SIGTERM", "SIGTERM"), ("SIGHUP",), ("SIGTERM", "SIGHUP", "SIGINT")])
def test_every_stop_signal_saves_the_row_as_stopped(tmp_path, write_script, signals):
    import signal
    import time

    proc = _start_playing(tmp_path, write_script)
    wait_for_step(tmp_path / "home" / "history.sqlite3", 2)
    time.sleep(1.5)
    for name in signals:
        proc.send_signal(getattr(signal, name))
        time.sleep(0.002)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and err == "\nStopped.\n", (proc.returncode, err)
    store = History(tmp_path / "home" / "history.sqlite3", read_only=True)
    (last,) = store.recent()
    assert (last.status, last.last_step) == ("stopped", 2)
    assert 1 < last.seconds_listened < 10
    store.close()


def test_resume_with_a_damaged_history_says_one_thing(tmp_path, write_script):
    import subprocess

    from conftest import GUIDED, run_env

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "history.sqlite3").write_bytes(b"not a database" * 100)
    script = write_script(SLOW_SCRIPT)
    result = subprocess.run(GUIDED + ["play", str(script), "--resume"], capture_output=True, text=True, check=False,
                            env=run_env(tmp_path, SDL_AUDIODRIVER="no-such-driver", GUIDED_ENGINE="espeak-ng"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: cannot resume session: ")
    assert "without recording" not in result.stderr


def test_the_parser_fuzz_finds_no_traceback_and_no_hang():
    """Mutations with deep nesting, huge numbers, tags and stray bytes (issue 12, H1/T1/T2):
    every case ends in a session or one located ScriptError, each within fuzz_scripts.HANG_S."""
    from fuzz_scripts import run

    result = run(300)
    assert (result["tracebacks"], result["hangs"]) == (0, 0), result["failures"]


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_flow_nesting_is_refused_quickly_with_its_line(tmp_path, depth):
    import time

    from player.errors import ScriptError
    from player.library import load_script

    for name, text in [("deep.yaml", "title: T\nsummary: S\nsteps:\n  - say: " + "[" * depth + "\n"),
                       ("deep.md", "---\ntitle: T\nsummary: " + "{" * depth + "\n---\nHello.\n")]:
        path = tmp_path / name
        path.write_text(text)
        start = time.monotonic()
        with pytest.raises(ScriptError, match=r":(3|4): nested too deeply"):
            load_script(path)
        assert time.monotonic() - start < 2


def test_huge_numbers_are_a_located_problem(tmp_path):
    from player.errors import ScriptError
    from player.script import load_session

    for digits in (400, 5000):
        path = tmp_path / f"n{digits}.yaml"
        path.write_text("title: T\nsummary: S\nsteps:\n  - say: Hi.\n  - pause: " + "9" * digits + "\n")
        with pytest.raises(ScriptError, match=r":5: pause of .* is out of range") as caught:
            load_session(path)
        assert len(str(caught.value)) < 200


def test_special_files_are_refused_without_blocking(tmp_path):
    import os

    from player.errors import ScriptError
    from player.library import load_script

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(ScriptError, match="not a regular file"):
            load_script(path)


def test_a_fifo_as_ambience_is_refused(tmp_path):
    import os

    from player.ambience import AmbienceError, ambience_loop

    fifo = tmp_path / "bed.wav"
    os.mkfifo(fifo)
    with pytest.raises(AmbienceError, match="not a regular file"):
        ambience_loop(str(fifo))


def test_cache_clear_and_info_touch_only_the_caches_own_clips(tmp_path):
    import numpy as np

    from player.cache import ClipCache

    cache = ClipCache(tmp_path / "c")
    key = "ab" + "0" * 62
    cache.store(key, np.full(2205, 1000, dtype=np.int16))
    damaged = "cd" + "1" * 62
    (tmp_path / "c" / "cd").mkdir()
    (tmp_path / "c" / "cd" / f"{damaged}.wav").write_bytes(b"RIFF....garbage")
    mine = tmp_path / "c" / "ab" / "notes.wav"  # not the cache's name pattern
    mine.write_bytes(b"kept")
    info = cache.info()
    assert (info["clips"], info["damaged"]) == (1, 1)
    assert cache.clear() == 2
    assert mine.read_bytes() == b"kept" and not cache.path_for(key).exists()


def test_a_folder_in_place_of_a_clip_is_removed_and_the_clip_made_again(tmp_path):
    import numpy as np

    from player.cache import ClipCache

    cache = ClipCache(tmp_path / "c")
    key = "ef" + "2" * 62
    cache.path_for(key).mkdir(parents=True)
    assert cache.load(key) is None and not cache.path_for(key).exists()
    cache.path_for(key).mkdir()
    cache.store(key, np.full(2205, 1000, dtype=np.int16))
    assert cache.load(key).size == 2205
    cache.path_for("12" + "3" * 62).mkdir(parents=True)
    cache.clear()
    assert not any((tmp_path / "c").iterdir())


def test_clearing_a_read_only_cache_is_one_line(tmp_path):
    import os

    import numpy as np

    from player.cache import ClipCache
    from player.errors import CacheError

    if os.geteuid() == 0:
        pytest.skip("root may write a read-only folder")
    cache = ClipCache(tmp_path / "c")
    cache.store("ab" + "0" * 62, np.full(2205, 1000, dtype=np.int16))
    (tmp_path / "c" / "ab").chmod(0o555)
    try:
        with pytest.raises(CacheError, match="cannot clear the clip cache"):
            cache.clear()
    finally:
        (tmp_path / "c" / "ab").chmod(0o755)


def test_partial_files_of_a_killed_run_are_swept_but_not_a_live_ones(tmp_path):
    import fcntl

    import numpy as np

    from player.atomic import replacing
    from player.cache import ClipCache

    cache = ClipCache(tmp_path / "c")
    key = "ab" + "0" * 62
    cache.store(key, np.full(2205, 1000, dtype=np.int16))
    dead = tmp_path / "c" / "ab" / f".{key}.wav.dead.part"
    dead.write_bytes(b"x")
    fresh = tmp_path / "c" / "ab" / f".{key}.wav.fresh.part"  # its writer may be about to lock it
    fresh.write_bytes(b"x")
    os.utime(dead, (time.time() - 5, time.time() - 5))
    live = tmp_path / "c" / "ab" / f".{key}.wav.live.part"
    with open(live, "wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        os.utime(live, (time.time() - 5, time.time() - 5))
        assert cache.sweep() == 1
    assert live.exists() and fresh.exists() and not dead.exists()
    stray = tmp_path / ".out.wav.abcd.part"
    stray.write_bytes(b"half")
    os.utime(stray, (time.time() - 5, time.time() - 5))
    with replacing(tmp_path / "out.wav") as temp:
        temp.write_bytes(b"whole")
    assert not stray.exists() and (tmp_path / "out.wav").read_bytes() == b"whole"


def test_an_export_where_no_temp_file_can_be_made_is_one_line(tmp_path):
    from player.errors import ExportError
    from player.export import write_text

    with pytest.raises(ExportError, match=r"^cannot write /proc/x\.txt: "):
        write_text(Path("/proc/x.txt"), "text")


@pytest.mark.parametrize("size, suffixes", [("8k", (".wav", ".flac", ".mp3")), ("3m", (".wav",))],
                         ids=["full-before", "filled-by-the-export"])
def test_export_to_a_full_disk_says_the_disk_is_full(tmp_path, fake_session, size, suffixes):
    """Full before the export began, or filled by the export itself (3 MB against about 5 MB of
    WAV), the one line says so, and nothing is left on the disk."""
    from player.errors import ExportError
    from player.export import export_session

    timeline, voiced = fake_session("title: T\nsummary: S\nsteps:\n  - say: Hello there.\n  - pause: 120s\n"
                                    "  - say: And again, slowly, one more time.\n")
    disk = tmp_path / "full"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        for suffix in suffixes:
            with pytest.raises(ExportError, match="^the disk is full: ") as caught:
                export_session(timeline, voiced, disk / f"long{suffix}")
            assert caught.value is not None, suffix
            assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False)


def test_a_name_with_nothing_to_pronounce_is_refused_up_front():
    from player.errors import BadName
    from player.timeline import check_name

    for name in ("...", "—", "🙂🙂"):
        with pytest.raises(BadName, match="a name needs a letter"):
            check_name(name)
    assert check_name("Zoë") == "Zoë"


@pytest.mark.skipif(__import__("shutil").which("ffprobe") is None, reason="ffprobe (ffmpeg) is not installed")
def test_mp3_chapters_are_listed_in_time_order(tmp_path, fake_session):
    """mutagen writes frames by size: a long title before a short one came out shuffled."""
    import json
    import subprocess

    from player.export import export_session

    titles = ["A much longer first section title", "Two", "The third, middling", "4", "Five and the end"]
    script = "title: T\nsummary: S\nsteps:\n" + "".join(f"  - section: {t}\n  - say: Line {i}.\n"
                                                       for i, t in enumerate(titles))
    timeline, voiced = fake_session(script)
    export_session(timeline, voiced, tmp_path / "c.mp3")
    probe = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_chapters", str(tmp_path / "c.mp3")],
                           capture_output=True, text=True, check=True)
    listed = json.loads(probe.stdout)["chapters"]
    assert [c["tags"]["title"] for c in listed] == titles
    assert [float(c["start_time"]) for c in listed] == sorted(float(c["start_time"]) for c in listed)


def test_clearing_a_cache_on_a_read_only_mount_is_one_line(tmp_path):
    import subprocess

    import numpy as np

    from player.cache import ClipCache
    from player.errors import CacheError

    ClipCache(tmp_path / "src").store("ab" + "0" * 62, np.full(2205, 1000, dtype=np.int16))
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(["mount", "--bind", str(tmp_path / "src"), str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], capture_output=True, check=True)
        with pytest.raises(CacheError, match="^cannot clear the clip cache .*: Read-only file system$"):
            ClipCache(mount).clear()
    finally:
        while str(mount) in Path("/proc/mounts").read_text():
            if subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False).returncode:
                break


def test_writers_and_a_clear_at_once_lose_no_clip_and_say_nothing(tmp_path):
    """Two runs storing the same clip while `cache clear` runs again and again: no write fails
    (a fresh partial file is never swept, a folder removed meanwhile is made again)."""
    code = ("import sys, time, numpy as np; from player.cache import ClipCache\n"
            "c = ClipCache(sys.argv[1]); end = time.time() + 2\n"
            "while time.time() < end:\n"
            "    c.clear() if sys.argv[2] == 'clear' else c.store('ab' + '0' * 62, np.full(2205, 9, dtype=np.int16))\n"
            "    time.sleep(0.02 if sys.argv[2] == 'clear' else 0)\n")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "c"), role], stderr=subprocess.PIPE, text=True)
            for role in ("store", "store", "clear")]
    for run in runs:
        assert run.wait(timeout=60) == 0, run.stderr.read()
