"""Mutation fuzzing of the script readers (YAML scripts, Markdown and text imports).

Used by tests/test_robustness.py with a few hundred mutations; run alone for more:
    PYTHONPATH=. python tests/fuzz_scripts.py 5000
Every outcome must be a session or a GuidedError: any other exception is a traceback, and a
case that takes over HANG_S seconds is a hang."""

from __future__ import annotations

import random
import signal
import sys
import tempfile
import time
from pathlib import Path

HANG_S = 5.0
ROOT = Path(__file__).resolve().parent.parent
NASTY = [
    "[" * 5000, "{" * 3000, "- " * 2000, "  " * 700 + "- x", "9" * 400, "9" * 5000, "-" + "9" * 500 + "e9999",
    "1e999", ".inf", "-.nan", "0x" + "f" * 300, "&a x", "*a", "!!python/object:os.system x", "<<: *a",
    "\t", "\x00", "\ufeff", "{a}", "{speaker}", "[2s]", "[" + "9" * 400 + "s]", "'", '"', "#", "? x\n: y",
    "pause: 1m" + "0" * 300 + "s", "---", "...", "%YAML 1.1", "|", ">", "\u2028", "—", "🙂" * 50,
    "turns:\n  order: " + "[" * 200, "mode: couple", "steps: []", "say: ''",
]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang


def seeds() -> list[tuple[str, str]]:
    found = [(p.suffix, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "scripts").glob("*.yaml"))]
    found += [(p.suffix, p.read_text(encoding="utf-8"))
              for p in sorted((ROOT / "tests" / "data" / "imports").glob("*")) if p.suffix in (".md", ".txt")]
    return found


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        where = rng.randint(0, len(text))
        choice = rng.random()
        if choice < 0.4:
            text = text[:where] + rng.choice(NASTY) + text[where:]
        elif choice < 0.6:
            text = text[:where] + text[where + rng.randint(1, 50):]
        elif choice < 0.8:
            text = text[:where] + chr(rng.choice([rng.randint(0, 127), rng.randint(128, 0x2FFF)])) + text[where:]
        else:
            end = min(len(text), where + rng.randint(1, 200))
            text = text[:where] + text[where:end] * rng.randint(2, 20) + text[end:]
    return text


def run(count: int, seed: int = 12) -> dict:
    """Fuzz `count` mutations; return the counts and the first few failures."""
    from player.errors import GuidedError
    from player.library import load_script

    rng = random.Random(seed)
    pool = seeds()
    result = {"cases": 0, "tracebacks": 0, "hangs": 0, "failures": [], "slowest_s": 0.0}
    previous = signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory() as folder:
        try:
            for n in range(count):
                suffix, text = rng.choice(pool)
                path = Path(folder) / f"case{suffix}"
                path.write_text(mutate(text, rng), encoding="utf-8", errors="surrogatepass")
                start = time.monotonic()
                signal.setitimer(signal.ITIMER_REAL, HANG_S)
                try:
                    load_script(path)
                except GuidedError:
                    pass
                except Hang:
                    result["hangs"] += 1
                    result["failures"].append(("hang", n))
                except Exception as exc:  # noqa: BLE001 - any other exception is what the fuzz counts
                    result["tracebacks"] += 1
                    result["failures"].append((f"{type(exc).__name__}: {str(exc)[:100]}", n))
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                result["slowest_s"] = max(result["slowest_s"], time.monotonic() - start)
                result["cases"] += 1
        finally:
            signal.signal(signal.SIGALRM, previous)
    result["failures"] = result["failures"][:10]
    return result


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
