"""The long mutation fuzz, run by hand: N mutants of every bundled and test script, counted.

    PYTHONPATH=. nice -n 10 python bench/fuzz_scripts.py --per-script 5000 --seconds 1500

Prints how many mutants were refused, rendered, gave a traceback, or validated and then did
not render; the first few findings of each kind are printed in full."""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzing import SOURCES, fake_voiced, mutate, outcome, write_mutant


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-script", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=1500, help="stop after this long, whatever is done")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    counts: collections.Counter = collections.Counter()
    shown: collections.Counter = collections.Counter()
    deadline = time.monotonic() + args.seconds
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        voiced = fake_voiced(folder / "clips")
        for round_ in range(args.per_script):
            if time.monotonic() > deadline:
                print(f"stopped by --seconds after {round_} rounds")
                break
            for index, source in enumerate(SOURCES):
                seed = args.seed * 10_000_019 + round_ * 1000 + index
                text = mutate(source.read_text(encoding="utf-8"), random.Random(seed))
                result = outcome(write_mutant(folder, source, text), voiced)
                kind = result.split(":")[0]
                counts[kind] += 1
                if kind not in ("refused", "rendered") and shown[kind] < 3:
                    shown[kind] += 1
                    print(f"--- {kind}: {source.name} seed {seed}\n{result}", flush=True)
    total = sum(counts.values())
    print(f"sources {len(SOURCES)}, mutants {total}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
