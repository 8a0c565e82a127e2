"""The words only: the one place where text is made fit to be spoken, for every engine.

Scripts, and above all imported ones, carry things a listener should never hear: Markdown
markup (`*`, `_`, `#`, a backslash before a bracket), emoji and symbols that engines read by
their Unicode names ("rightwards arrow"), a tilde for "about". `spoken_text` removes or
rewrites them. The timeline passes every sentence through it before any engine or the cache
sees it, and validation uses it to refuse text with nothing to pronounce, so what validates
can be rendered.

For an ordinary sentence (letters, digits, common punctuation) it is the identity, so cache
keys of ordinary sentences never change. It is idempotent and linear-time.

This module lives outside `player.speech` on purpose: that package imports numpy and the
timeline, and the timeline and the script checker both need this without either.
"""

from __future__ import annotations

import re
import unicodedata

_UNITS = {"s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds", "seconds": "seconds",
          "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes"}
_ABOUT = re.compile(r"~\s?(\d{1,4})\s?(seconds|second|secs|sec|s|minutes|minute|mins|min|m)\b", re.IGNORECASE)
_ABBREVIATED = re.compile(r"\b(\d{1,4}) ?(secs?|mins?)\b", re.IGNORECASE)
_RANGE = re.compile(r"\b(\d{1,4}) ?[-–—] ?(\d{1,4})(?= ?(?:seconds?|minutes?|hours?|breaths?|counts?|times|"
                    r"days?|weeks?|rounds?|cycles?)\b)", re.IGNORECASE)
_LINK = re.compile(r"\[([^\[\]\n]{0,200})\]\([^()\n]{0,400}\)")
_MARKUP = re.compile(r"[*_`\\#~|<>\[\]{}^=+]")
_RULE = re.compile(r"-{3,}|\.{4,}")  # a Markdown rule, a dotted line
_SLASH = re.compile(r"(?<!\w)/|/(?!\w)")
_SPACE_BEFORE = re.compile(r" +([,.;:!?…])")
_DOUBLED = re.compile(r"([,;:]),+|,([.!?…])")  # ", ," left where an arrow stood
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\ufe0e", "\ufe0f"}
_DROPPED_CATEGORIES = {"So", "Sk", "Sm", "Co", "Cn", "Cs", "Cc", "Cf"}
# The timeline marks where a partner's name goes (private-use characters no text holds), splits
# and cleans the sentences, then puts the name in: the marks pass through here, and count as words.
NAME_MARKS = ("\ue000", "\ue001")
_LEADING_PUNCTUATION = re.compile(r"^[\s,.;:!?…)\]}–—-]+")


def spoken_text(text: str) -> str:
    """`text` as the voice should receive it: the words only; "" when nothing is left to say."""
    text = _ABOUT.sub(lambda m: f"about {m.group(1)} {_UNITS[m.group(2).lower()]}", text)
    text = _ABBREVIATED.sub(lambda m: f"{m.group(1)} {_UNITS[m.group(2).lower()]}", text)
    text = _RANGE.sub(r"\1 to \2", text)
    text = _LINK.sub(r"\1", text)
    text = _MARKUP.sub(" ", text)
    text = _RULE.sub(" ", text)
    text = _SLASH.sub(" ", text)
    text = "".join(_instead_of(c) for c in text)
    text = " ".join(text.split())
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = _DOUBLED.sub(lambda m: m.group(1) or m.group(2), text)
    text = _LEADING_PUNCTUATION.sub("", text)
    if not any(c.isalnum() or c == NAME_MARKS[0] for c in text):
        return ""
    return text


def removed_symbols(text: str) -> str:
    """The symbols and markup `spoken_text` takes out of `text`, for telling an author ("" if none)."""
    taken = [c for c in text if _MARKUP.fullmatch(c) or _is_symbol(c)]
    return "".join(dict.fromkeys(c for c in taken if c not in _INVISIBLE))


def has_words(text: str) -> bool:
    """Whether `text` has anything to pronounce."""
    return bool(spoken_text(text))


def _instead_of(char: str) -> str:
    """What a character becomes: an arrow is a pause (a comma), another symbol nothing."""
    if not _is_symbol(char):
        return char
    return "," if "ARROW" in unicodedata.name(char, "") else " "


def _is_symbol(char: str) -> bool:
    if char in NAME_MARKS:
        return False
    return char in _INVISIBLE or unicodedata.category(char) in _DROPPED_CATEGORIES
