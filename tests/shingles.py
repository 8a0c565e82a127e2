"""Hashed 8-word shingles: how the tests check that no run of 8 words from the reference article
is copied into a script, without keeping the article's text in the repository.

Regenerate the stored hashes (only when the article changes) with:
    python tests/shingles.py ../shared/reference/the-challenges-of-emotional-intimacy.txt
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

RUN = 8
STORED = Path(__file__).resolve().parent / "data" / "article-shingles.txt"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def shingle_hash(run: list[str] | tuple[str, ...]) -> str:
    """A run of words as 16 hex digits: enough to tell runs apart, not to read them back."""
    return hashlib.sha256(" ".join(run).encode("utf-8")).hexdigest()[:16]


def runs(text: str) -> list[tuple[str, ...]]:
    found = words(text)
    return [tuple(found[i : i + RUN]) for i in range(len(found) - RUN + 1)]


def stored_hashes() -> set[str]:
    lines = STORED.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def copied_runs(text: str, hashes: set[str]) -> list[str]:
    """Every run of 8 words in `text` whose hash is among the article's."""
    return [" ".join(run) for run in runs(text) if shingle_hash(run) in hashes]


if __name__ == "__main__":
    article = Path(sys.argv[1]).read_text(encoding="utf-8")
    hashes = sorted({shingle_hash(run) for run in runs(article)})
    header = f"# sha256[:16] of each run of {RUN} words of the reference article (lower case, words as in tests/shingles.py)\n"
    STORED.write_text(header + "\n".join(hashes) + "\n", encoding="utf-8")
    print(f"{len(hashes)} hashes written to {STORED}")
