"""The words of cues in text scripts: how long a pause cue means, which cue rings a bell,
repeats, and the time budgets authors write on headings ("Breathing (2 minutes)").

Kept apart from the importer, which decides where things are on the page; this module only
knows what a cue's words mean. Every pattern is linear-time: no regex nests a quantifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PAUSE_S = 5.0  # "pause", "(silence)"
LONG_PAUSE_S = 15.0  # "long pause", "long silence"
SHORT_PAUSE_S = 3.0  # "short pause", "brief silence"
EXTENDED_SILENCE_S = 30.0  # "(Extended silence follows...)", "a longer silence"
BREATH_S = 5.0  # "[Pause for 3 breaths]": one slow breath, in and out
MAX_REPEATS = 20

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_NUM = rf"(\d{{1,4}}(?:\.\d{{1,3}})?|(?:{_WORD})(?:[ -](?:{_WORD}))?)"
_UNIT = r"(s|secs?|seconds?|m|mins?|minutes?|breaths?)"
_PAUSE_FORMS = [
    re.compile(rf"{_NUM}\s*{_UNIT}"),  # [5s], (10 seconds)
    re.compile(rf"pause\s*(?:for\s+|:\s*)?{_NUM}(?:\s*{_UNIT})?"),  # [pause 5s], [PAUSE:5], (pause for 10 seconds)
    re.compile(rf"{_NUM}\s*{_UNIT}\s+(?:of\s+)?(?:silence|quiet|stillness|pause)"),  # (10 seconds of silence)
    re.compile(rf"(?:silence|quiet|stillness|rest)\s*(?:for\s+)?{_NUM}\s*{_UNIT}"),
    re.compile(rf"(?:pause|rest|wait)\s+(?:for\s+)?(?:about\s+)?{_NUM}\s*{_UNIT}"),
]
_FIXED_PAUSES = {"pause": DEFAULT_PAUSE_S, "long pause": LONG_PAUSE_S, "short pause": SHORT_PAUSE_S,
                 "silence": DEFAULT_PAUSE_S}
TIMESTAMP = re.compile(r"(\d{1,2}):(\d{2})\s*[–—-]\s*(\d{1,2}):(\d{2})\s*(?::\s*(.{0,80}))?")
_SILENT_WORDS = re.compile(r"silen|pause|quiet|reflect|breath|still")
_SILENCE_WORD = re.compile(r"\b(?:silence|silent|pause|pausing|quiet|stillness)\b")
_HAS_NUMBER = re.compile(rf"\d|\b(?:{'|'.join(w for w in NUMBER_WORDS if w not in ('a', 'an'))})\b")
_LONGER = re.compile(r"\b(?:extended|longer|lengthy|deep|prolonged|extra)\b")
_LONG = re.compile(r"\blong\b")
_SHORTER = re.compile(r"\b(?:short|brief|briefly|small|little|moment|beat)\b")
# What may follow a pause in the same cue ("then fade out"), and the other cues: bells, repeats.
_THEN = re.compile(r"\s*(?:,|;|\bthen\b|\band\b|\bwhile\b|\bas\b)\s*")
_BELL = re.compile(r"(?:soft\s+|gentle\s+|closing\s+|opening\s+|final\s+)?(?:bell|chime|gong|singing bowl|bowl)s?\b(.{0,80})")
_CLOSING = re.compile(r"\b(?:end|ending|close|closing|final|last)\b")
_REPEAT = re.compile(rf"repeat(?:\s+(?:this|these|the\s+cycle|cycle|steps?))?(?:\s+(?:for\s+)?{_NUM}(?:\s*[–—-]\s*\d{{1,2}})?)?"
                     r"(\s+more)?(?:\s+(?:times?|cycles?|rounds?|more\s+times?))?")
_BUDGET = re.compile(r"(\d{1,3}(?:\.\d)?)(?:\s*(?:[–—-]|to)\s*(\d{1,3}(?:\.\d)?))?\s*[- ]?\s*"
                     r"(s|sec|secs|seconds?|m|min|mins|minutes?|hours?)\b", re.IGNORECASE)
_TRAILING_BUDGET = re.compile(r"\s*(?:[–—:-]|\(|\[)\s*(?:about\s+|approx\.?\s+|~\s?)?(\d{1,3}(?:\.\d)?(?:\s*(?:[–—-]|to)\s*"
                              r"\d{1,3}(?:\.\d)?)?\s*[- ]?\s*(?:s|sec|secs|seconds?|m|min|mins|minutes?))\s*[)\]]?\s*$", re.IGNORECASE)
_STATED = re.compile(r"(\d{1,3})(?:\s*[–—-]\s*(\d{1,3}))?[\s-]*min(?:ute)?s?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    """A length an author gave for a part or a whole script, in seconds: `low` to `high`."""

    low: float
    high: float

    def __str__(self) -> str:
        minutes = self.low >= 60 and self.low % 60 == 0 and self.high % 60 == 0
        low, high, unit = (self.low / 60, self.high / 60, "minute") if minutes else (self.low, self.high, "second")
        plural = "" if high == 1 else "s"
        return f"{low:g} {unit}{plural}" if low == high else f"{low:g} to {high:g} {unit}{plural}"


def number(word: str | None) -> float | None:
    """A number written in digits or in words ("forty-five"); None if it is neither."""
    if word is None:
        return None
    if word[0].isdigit():
        return float(word)
    total = 0
    for part in re.split(r"[ -]", word):
        if part not in NUMBER_WORDS:
            return None
        total += NUMBER_WORDS[part]
    return float(total)


def _tidy(cue: str) -> str:
    return " ".join(cue.lower().replace("’", "'").strip(" .…!").split())


def parse_pause(cue: str) -> float | None:
    """Seconds for a pause cue's words ("pause for ten seconds", "2 minutes of silence",
    "pause for 3 breaths", "extended silence follows"), or None."""
    text = _tidy(cue)
    if text in _FIXED_PAUSES:
        return _FIXED_PAUSES[text]
    for form in _PAUSE_FORMS:
        match = form.fullmatch(text)
        if match:
            return _with_unit(number(match.group(1)), match.group(2) if match.lastindex >= 2 else None)
    match = TIMESTAMP.fullmatch(text)
    if match and (match.group(5) is None or _SILENT_WORDS.search(match.group(5))):
        start = int(match.group(1)) * 60 + int(match.group(2))
        end = int(match.group(3)) * 60 + int(match.group(4))
        return float(end - start) if end > start else None
    return _unnumbered_silence(text)


def _with_unit(value: float | None, unit: str | None) -> float | None:
    if value is None or value <= 0:
        return None
    if unit and unit.startswith("b"):
        return value * BREATH_S
    return value * 60 if unit and unit.startswith("m") else value


def _unnumbered_silence(text: str) -> float | None:
    """A silence cue in words with no number: "(Extended silence follows...)", "(a short pause)"."""
    if len(text.split()) > 8 or not _SILENCE_WORD.search(text) or _HAS_NUMBER.search(text):
        return None
    if _LONGER.search(text):
        return EXTENDED_SILENCE_S
    if _LONG.search(text):
        return LONG_PAUSE_S
    if _SHORTER.search(text):
        return SHORT_PAUSE_S
    return DEFAULT_PAUSE_S


def pause_with_rest(cue: str) -> tuple[float, str] | None:
    """A pause cue that goes on with a direction ("Pause 30 seconds, then fade out"): the
    seconds, and the direction left over (not spoken). None if it does not start with a pause."""
    parts = _THEN.split(_tidy(cue), maxsplit=1)
    if len(parts) < 2:
        return None
    seconds = parse_pause(parts[0])
    return None if seconds is None else (seconds, parts[1])


def bell_cue(cue: str) -> bool | None:
    """For a bell cue ("BELL - soft opening", "closing chime"): True for the closing bell,
    False for the soft bell; None if the words are not a bell cue."""
    text = _tidy(cue).replace("ring the ", "").replace("ring ", "")
    match = _BELL.fullmatch(text)
    if not match:
        return None
    return bool(_CLOSING.search(text))


def repeat_cue(cue: str) -> int | None:
    """How many more times to play the part before a repeat cue: "Repeat 4 more cycles" is
    4, "Repeat 3 times" is 2 more, "Repeat" once more. None if the words are not a repeat."""
    match = _REPEAT.fullmatch(_tidy(cue))
    if not match:
        return None
    count = number(match.group(1)) if match.group(1) else None
    if count is None:
        return 1 if not match.group(1) else None
    more = int(count) if match.group(2) or "more" in match.group(0) else int(count) - 1
    return max(0, min(more, MAX_REPEATS))


def trailing_budget(text: str) -> tuple[str, Budget | None]:
    """A heading without its time note, and the note as a budget: "Breathing (2 minutes)" is
    ("Breathing", 2 minutes); "Opening – 1–2 min" is ("Opening", 1 to 2 minutes)."""
    text = " ".join(text.split())
    match = _TRAILING_BUDGET.search(text[-80:])  # a note is short and at the end: bounded work
    if not match:
        return text, None
    match = _TRAILING_BUDGET.search(text, max(0, len(text) - 80))
    return text[: match.start()], budget(match.group(1))


def budget(text: str) -> Budget | None:
    """The length in a time note: "2 minutes", "1–2 min", "30 sec"; None if there is none."""
    match = _BUDGET.search(" ".join(text[:300].split()))
    if not match:
        return None
    low = float(match.group(1))
    high = float(match.group(2)) if match.group(2) else low
    unit = match.group(3).lower()
    scale = 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
    if high < low:
        return None
    return Budget(low * scale, high * scale)


def stated_length(text: str) -> Budget | None:
    """The whole script's length, as its title or a Duration line states it:
    "A 10-Minute Meditation", "(2-3 Minutes)", "15-20 minutes"."""
    match = _STATED.search(" ".join(text[:300].split()))
    if not match:
        return None
    low = float(match.group(1))
    high = float(match.group(2)) if match.group(2) else low
    return Budget(low * 60, high * 60) if 0 < low <= high else None
