"""Mutation fuzzing of scripts, shared by tests/test_fuzz_scripts.py (a short run in the suite)
and bench/fuzz_scripts.py (the long run by hand): a script either fails with a ScriptError,
or it validates and then renders with the fake engine. Anything else is a finding."""

from __future__ import annotations

import random
import traceback
from pathlib import Path

from conftest import ROOT, FakeEngine

from player.cache import ClipCache, VoicedCache
from player.errors import ScriptError
from player.library import load_script
from player.speech import VoiceSettings
from player.speech.render import render_missing
from player.spoken import removed_symbols
from player.timeline import TimingOptions, build_timeline

SOURCES = sorted([*(ROOT / "scripts").glob("*.yaml"),
                  *(p for p in (ROOT / "tests" / "data" / "imports").iterdir() if ".expected." not in p.name)])
# Pieces people and generators leave in scripts, and pieces that break parsers.
PIECES = ["---", "----", ".", "*", "**", "_", "\\", "\\[", "[", "]", "(", ")", "{", "}", "{a}", "{b}", "{x}",
          "[2s]", "[0s]", "[pause]", "[PAUSE:5]", "(pause)", "[bell]", "[bell: end]", "[Repeat 4 more cycles]",
          "[Repeat 20 more times]", "[talk 1m]", "[wait]", "/2s", ";30", ";0", "~5 sec", "#", "## ", "> ",
          "- ", "1. ", "🌿", "➡️", "\u200d", "\ufe0f", "…", "...", ":", ": ", "say: ", "pause: 5s", "- bell",
          "&a ", "*a", "\t", "\n", "\n\n", "\r", "**Duration:** 10 minutes", "### Production Notes\n",
          "(Extended silence follows...)", "[Pause for 3 breaths]", "00:00-00:30 Opening (30 sec)",
          "intro-welcome:", "\"", "'", "é", "\u202e", "\x00", "😀" * 3, "9" * 12, " " * 40]


def mutate(text: str, rng: random.Random) -> str:
    """`text` with one to six random edits: pieces put in, ranges cut, lines repeated or swapped."""
    for _ in range(rng.randint(1, 6)):
        kind = rng.random()
        at = rng.randint(0, len(text))
        if kind < 0.45:
            text = text[:at] + rng.choice(PIECES) + text[at:]
        elif kind < 0.65:
            text = text[:at] + text[at + rng.randint(1, 40):]
        elif kind < 0.8:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines.insert(i, lines[rng.randrange(len(lines))])
            text = "\n".join(lines)
        elif kind < 0.9:
            lines = text.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        else:
            text = text[:at] + chr(rng.randint(1, 0x2FFFF)) + text[at:]
    return text


class VoiceLikeFake(FakeEngine):
    """The fake engine, but like a real voice it makes only silence of text with nothing to
    pronounce (espeak-ng does so for "---"), so such text fails to render as it really would."""

    def synthesize(self, text, voice, rate, volume):
        samples = super().synthesize(text, voice, rate, volume)
        return samples if any(c.isalnum() for c in text) else samples * 0


def outcome(path: Path, voiced: VoicedCache) -> str:
    """'refused' (one ScriptError), 'rendered', 'no-render: ...' (validated, then failed),
    'markup-spoken: ...' (rendered, but the voice was given symbols or markup) or
    'traceback: ...' (anything else while reading)."""
    try:
        script = load_script(path)
    except ScriptError:
        return "refused"
    except Exception:  # noqa: BLE001 - a finding, reported with its traceback
        return "traceback: " + traceback.format_exc()
    try:
        timeline = build_timeline(script.session, TimingOptions(), voiced.settings.rate)
        render_missing(voiced, timeline.sentences())
        if timeline.length <= 0:
            return "no-render: the timeline lasts 0:00"
        if any(e.kind == "say" and not e.sentences for e in timeline.events):
            return "no-render: a say event with nothing to say"
    except Exception:  # noqa: BLE001
        return "no-render: " + traceback.format_exc()
    spoken = voiced.engine.texts
    marked = [t for t in spoken if removed_symbols(t)]
    spoken.clear()
    if marked:
        return f"markup-spoken: {marked[0]!r}"
    return "rendered"


def fake_voiced(cache_dir: Path) -> VoicedCache:
    return VoicedCache(ClipCache(cache_dir), VoiceLikeFake(), VoiceSettings())


def write_mutant(folder: Path, source: Path, text: str) -> Path:
    path = folder / f"mutant{source.suffix}"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    return path
