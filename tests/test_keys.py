"""Live keys, driven through a real pseudo-terminal, with SDL's disk driver as the speakers."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import subprocess
import termios
import threading
import time

import numpy as np
from conftest import ESPEAK_MARKS, GUIDED, run_env

from player.timeline import SAMPLE_RATE

pytestmark = ESPEAK_MARKS

SCRIPT = """
title: Keys
summary: S
steps:
  - say: One. This first step is long enough to be skipped part way through, so it goes on for a good while longer.
  - say: Two. The second step.
  - wait: Ready?
    fallback: 1m
  - say: Three. The third step is here.
  - pause: 30s
  - say: Four.
"""


def _take_terminal():
    """In the child: lead a new session with the pseudo-terminal as its controlling terminal,
    so that Ctrl-C typed there reaches it as SIGINT, as in a real terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """`guided play` on a pseudo-terminal: what it shows, and keys to type."""

    def __init__(self, args, env):
        self.master, slave = pty.openpty()
        self.slave = slave
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                                     preexec_fn=_take_terminal)
        self.screen = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 1024)
            except OSError:
                return
            if not data:
                return
            self.screen += data.decode("utf-8", "replace")

    def expect(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            assert time.monotonic() < deadline, f"{text!r} never appeared; screen:\n{self.screen}"
            time.sleep(0.02)

    def press(self, key):
        os.write(self.master, key.encode())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def growth(raw, seconds):
    """What was written to the disk driver's file during the next `seconds`."""
    before = raw.stat().st_size
    time.sleep(seconds)
    with open(raw, "rb") as f:
        f.seek(before - before % 2)
        return np.frombuffer(f.read(), dtype="<i2")


def test_skip_wait_pause_and_quit(tmp_path, write_script):
    script = write_script(SCRIPT)
    raw = tmp_path / "played.raw"
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw), TERM="xterm")
    subprocess.run(GUIDED + ["render", str(script)], env=env, check=True, capture_output=True)
    with Terminal(GUIDED + ["play", str(script)], env) as term:
        term.expect("space pause/resume")
        term.expect("One. This first step")
        time.sleep(0.5)
        term.press("n")  # skip the rest of step one
        term.expect("Two. The second step.", timeout=2)
        term.expect("(press space or enter to go on)")
        waiting = growth(raw, 1.0)
        assert waiting.size > 0.8 * SAMPLE_RATE and not waiting.any()  # silence while it waits
        assert "Three." not in term.screen
        term.press("\r")
        term.expect("Three. The third step is here.", timeout=2)
        term.expect("pause: 0:2")  # the countdown of the 30 s pause
        term.press(" ")
        term.expect("paused", timeout=2)
        countdown = term.screen[term.screen.rindex("pause: 0:"):][:13]
        time.sleep(1.5)
        assert term.screen[term.screen.rindex("pause: 0:"):][:13] == countdown  # frozen while paused
        term.press(" ")
        time.sleep(0.3)
        term.press("q")
        assert term.proc.wait(timeout=10) == 0
        term.expect("Stopped at step 5 of 6.", timeout=2)
        assert "Four." not in term.screen and "Traceback" not in term.screen
        assert termios.tcgetattr(term.slave)[3] & termios.ECHO  # the terminal is as it was


def test_back_repeats_the_step(tmp_path, write_script):
    script = write_script("title: T\nsummary: S\nsteps:\n  - say: Only this step, said slowly and in full.\n")
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(tmp_path / "p.raw"), TERM="xterm")
    with Terminal(GUIDED + ["play", str(script)], env) as term:
        term.expect("Only this step")
        time.sleep(0.5)
        term.press("b")
        deadline = time.monotonic() + 5
        while term.screen.count("Only this step") < 2:
            assert time.monotonic() < deadline, term.screen
            time.sleep(0.02)
        assert term.proc.wait(timeout=30) == 0
        term.expect("The session has ended.")


def test_plus_adds_thirty_seconds_to_the_silence(tmp_path, write_script):
    script = write_script("title: T\nsummary: S\nsteps:\n  - say: Before.\n  - pause: 4s\n  - say: After the pause.\n")
    raw = tmp_path / "p.raw"
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw), TERM="xterm")
    subprocess.run(GUIDED + ["render", str(script)], env=env, check=True, capture_output=True)
    with Terminal(GUIDED + ["play", str(script)], env) as term:
        term.expect("pause: 0:0")
        time.sleep(0.5)
        term.press("+")
        term.expect("pause: 0:3", timeout=2)  # about 33 seconds left now
        assert re.search(r"pause: 0:3\d left [█░]{20} · step 2/3 · 0:0\d in, 0:3\d to go", term.screen)
        quiet = growth(raw, 5.0)  # well past the 4 s the script asked for
        assert quiet.size > 4 * SAMPLE_RATE and not quiet.any()
        assert "After the pause." not in term.screen
        term.press("n")
        term.expect("After the pause.", timeout=3)
        assert term.proc.wait(timeout=30) == 0


def test_ctrl_c_on_a_terminal_restores_it(tmp_path, write_script):
    script = write_script("title: T\nsummary: S\nsteps:\n  - say: Hello.\n  - pause: 30s\n")
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(tmp_path / "p.raw"), TERM="xterm")
    with Terminal(GUIDED + ["play", str(script)], env) as term:
        term.expect("pause: 0:")
        assert not termios.tcgetattr(term.slave)[3] & termios.ICANON  # keys are read one by one
        term.press("\x03")
        assert term.proc.wait(timeout=10) == 130
        term.expect("Stopped.", timeout=2)
        assert "Traceback" not in term.screen
        assert termios.tcgetattr(term.slave)[3] & termios.ICANON  # and the terminal is back as it was
