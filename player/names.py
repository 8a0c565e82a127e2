"""Partner names as they are heard: the name as typed stays on screen and in captions; the voice
says the person's own spelling for the ear when one is given (--say-a, --say-b, or a script's
`pronounce:` mapping), and a name typed in capitals is said as a name, not spelt out.

Engines read a word in capitals as letters ("SAM" becomes "S, A, M"), and cannot guess names
from other languages ("Jean-Luc" in English comes out as "Jeen Luke"): that is what a spoken
override is for ("zhahn-luke"). The override is only ever spoken, never shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from player.errors import BadName
from player.limits import MAX_NAME
from player.spoken import has_words

_CAPITALS = re.compile(r"\b[^\W\d_]{3,}\b")  # a word of three or more letters (two: an initialism, DJ)


def check_spoken(text: str) -> str:
    """A pronunciation: 1 to MAX_NAME printable characters. Raises BadName with the reason."""
    text = " ".join(text.split())
    if not 1 <= len(text) <= MAX_NAME:
        raise BadName(f"a pronunciation is 1 to {MAX_NAME} characters, not {len(text)}")
    if not text.isprintable():
        raise BadName("a pronunciation may only hold printable characters")
    if not has_words(text):
        raise BadName("a pronunciation needs a letter, as it should sound (e.g. shiv-awn)")
    return text


def for_the_ear(text: str) -> str:
    """Capitals said as words: a name all in capitals ('SAM', 'MARY-JO') as a name ('Mary-Jo');
    elsewhere, each word of three capitals or more ('shiv-AWN' -> 'shiv-Awn')."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 3 and all(c.isupper() for c in letters):
        return text.title()
    return _CAPITALS.sub(lambda m: m.group(0).capitalize() if m.group(0).isupper() else m.group(0), text)


def spoken_name(name: str, override: str | None = None, pronounce: Mapping[str, str] | None = None) -> str:
    """What the voice says for `name`: the override (--say-a), else the script's pronunciation
    of that name (any case), else the name itself; capitals said as a word in every case."""
    if not override and pronounce:
        wanted = name.casefold()
        override = next((said for typed, said in pronounce.items() if typed.casefold() == wanted), None)
    return for_the_ear(override or name)
