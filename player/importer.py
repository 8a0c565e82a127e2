"""Stage 1, for scripts people already have: plain text and Markdown, read as they are written.

Headings become sections, paragraphs become spoken steps, pause and bell cues in their many
common forms become silences and bells, and what is not for the listener (stage directions,
metadata, production notes, a chatbot's preamble) is kept as a note instead of being spoken.
Every such decision is recorded with its line, so `guided show` can say why something was or
was not spoken. The result is validated by the script module exactly as a YAML script is
(`session_from_data`), so there is one model and one timeline.

Every pattern here is linear-time: lines are handled one at a time, and no regex nests a
quantifier, so an odd or hostile file cannot make parsing hang.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from player.cues import (
    TIMESTAMP,
    Budget,
    bell_cue,
    parse_pause,
    pause_with_rest,
    repeat_cue,
    stated_length,
    trailing_budget,
)
from player.errors import Problem, ScriptError
from player.script import MAX_TITLE, Session, read_text, session_from_data, yaml_data
from player.spoken import removed_symbols, spoken_text
from player.timeline import TimingOptions, build_timeline

__all__ = ["Decision", "Imported", "import_script", "parse_pause", "to_yaml"]

ELLIPSIS_PAUSE_S = 3.0  # "..." on a line of its own
WAIT_TEXT = "Take your time, and go on when you are ready."  # the player says which key or button
MAX_STEPS = 5000  # a repeat cue may not grow a script past this
ESTIMATE_RATE = 150  # words per minute, for comparing a script with the length it states
TOO_SHORT = 0.75  # plays in less than this share of its stated length: say so

# Metadata labels ("**Duration:** 15 minutes") and what each fills in; None: recognised, unused.
META_KEYS = {
    "title": "title", "purpose": "summary", "summary": "summary", "description": "summary", "goal": "summary",
    "intention": "summary", "theme": "summary", "focus": "summary", "mode": "mode", "tags": "tags",
    "duration": "length", "length": "length", "time": "length", "total time": "length",
    "total duration": "length", "running time": "length", "estimated time": "length",
    "voice": None, "tone": None, "music": None, "audience": None, "style": None, "pace": None, "setting": None,
    "background": None, "format": None, "level": None, "author": None, "sound": None,
    "background music": None, "voice style": None, "target audience": None, "best for": None, "type": None,
}
ROLE_LABELS = r"(?:instructor|guide|teacher|narrator|facilitator|therapist|coach|speaker|host|leader|voice)"
# Sections for whoever produces the audio, never for the listener.
PRODUCTION = re.compile(r"(?:production|recording|producer'?s?|audio|sound|music|voice|narrator'?s?|script|editing)"
                        r"\s+(?:notes?|tips?|directions?|guidance|design|instructions?|cues?)|notes?|timing"
                        r"(?:\s+breakdown)?|timing\s+guide|structure(?:\s+overview)?|tips(?:\s+for\s+.{0,40})?|"
                        r"how to use(?: this.{0,30})?|variations?|sources?|references?|about(?: this.{0,30})?|"
                        r"script\s+overview|overview", re.IGNORECASE)
_PREAMBLE = re.compile(r"(?:here(?: is|'s| are)|sure|certainly|absolutely|of course|below is|i(?:'ve| have) "
                       r"(?:written|created|put together|made))\b", re.IGNORECASE)
_PREAMBLE_TOPIC = re.compile(r"meditation|script|exercise|practice|session|version|guided|reflection|"
                             r"visuali[sz]ation|breathing", re.IGNORECASE)
_SIGN_OFF = re.compile(r"(?:would you like(?: me)?|let me know|i hope (?:this|you)|i can also|do you want me|"
                       r"if you(?:'d| would) like(?:,)? i|shall i|want me to)\b", re.IGNORECASE)
_CUE = re.compile(r"(talk|reflect)\s+(\d{1,3}(?:\.\d)?\s*[sm]|\d{1,2}m\d{1,2}s)|(bell)(?:\s*:?\s*(end))?|(wait)")
_HEADING = re.compile(r"(#{1,6})\s+(.*)")  # closing #s are stripped after: no overlapping quantifiers
_BOLD_LINE = re.compile(r"\*\*([^*]{1,120})\*\*:?|__([^_]{1,120})__:?")
_BOLD_WITH_NOTE = re.compile(r"\*\*([^*]{1,120})\*\*\s*(\([^()]{1,40}\)|[–—-]\s*[^*]{1,40})")
_ITALIC_LINE = re.compile(r"\*([^*]{1,400})\*|_([^_]{1,400})_")
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s+(.*)")
_ELLIPSIS = re.compile(r"\.(?:[ \t]*\.){2,}|…")
_BOLD_LABEL = re.compile(r"\*\*([^*:]{1,30}):\*\*\s*|\*\*([^*:]{1,30})\*\*:\s*")
_PLAIN_LABEL = re.compile(rf"{ROLE_LABELS}(?:\s+\d)?\s*:\s+", re.IGNORECASE)
_META_LABEL = re.compile(r"[*_]{0,2}([A-Za-z][A-Za-z' ]{0,18}[A-Za-z])[*_]{0,2}\s*:\s*[*_]{0,2}\s*(.{0,300})")
_CLIP_ID = re.compile(r"[a-z0-9]{1,30}(?:[-_][a-z0-9]{1,30}){1,8}:(?:\s+|$)")
_PHRASE_SECONDS = re.compile(r"([^;]{1,400});\s*(\d{1,4}(?:\.\d{1,2})?)")
# Markup inside a line: what is taken out, unwrapped or read as a cue.
_SLASH_BREAK = re.compile(r"(?<!\S)/(\d{1,4}(?:\.\d{1,2})?)s(?!\S)")
_LINK = re.compile(r"!?\[([^\]\n]{0,200})\]\([^)\n]{0,400}\)")
_INLINE_TOKEN = re.compile(r"\[([^\[\]\n]{0,80})\]|\(([^()\n]{0,120})\)")
_EMPHASIS = re.compile(r"\*\*|__|(?<![\w*])[*_](?=\S)|(?<=\S)[*_](?![\w*])")
_ESCAPE = re.compile(r"\\([\[\]*_#()`~>\\.-])")
_STAMP_START = re.compile(r"\d{1,2}:\d{2}\s*[–—-]\s*\d{1,2}:\d{2}")
_DIRECTION_WORDS = re.compile(r"\b(?:tone|voice|softly|slowly|gently|whisper\w*|speak\w*|music|sound|sfx|fade\w*|"
                              r"soothing|calmly|warmly|quietly|smil\w*|pace|narrat\w*|instructor|emphasis|beat|"
                              r"read|optional|note|background)\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{[^{}\n]{0,40}\}|\[\d{1,4}(?:\.\d{1,3})?s\]")  # kept for validation
_SPACE_BEFORE = re.compile(r" +([,.;:!?])")
_QUOTES = "\"“”'‘’"


@dataclass(frozen=True)
class Decision:
    """One thing the importer decided about a line: `kind` is what it did (not spoken,
    metadata, cue, budget, symbols, length), `message` what and why."""

    line: int
    kind: str
    message: str


UNSPOKEN = ("not spoken", "metadata")


@dataclass(frozen=True)
class Imported:
    """A script read from a file: the session; for text, every decision the importer made, the
    lines it could not place, and the equivalent YAML data (for `guided convert`)."""

    session: Session
    decisions: tuple[Decision, ...] = ()
    warnings: tuple[Problem, ...] = ()
    data: dict = field(default_factory=dict, repr=False)

    @property
    def notes(self) -> tuple[Problem, ...]:
        """What was left unspoken on purpose: stage directions, labels, dividers, producer's notes."""
        return tuple(Problem(d.line, d.message) for d in self.decisions if d.kind == "not spoken")


def _seconds(value: float) -> str:
    return f"{value:g}s"


class _Reader:
    """Turns the lines of a text script into YAML-shaped data, step by step, with lines."""

    def __init__(self, name: str):
        self.name = name
        self.meta: dict = {}
        self.steps: list[tuple[int, object]] = []  # (line, step as YAML data)
        self.decisions: list[Decision] = []
        self.warnings: list[Problem] = []
        self.paragraph: list[tuple[int, str]] = []
        self.couple = False
        self.skipping: tuple[int, str, int] | None = None  # (heading level, name, line) of a producer's section
        self.seen_heading = False
        self.stated: tuple[int, Budget] | None = None
        self.budgets: list[tuple[int, str, Budget]] = []  # (section line, name, budget)

    def decide(self, line: int, kind: str, message: str) -> None:
        self.decisions.append(Decision(line, kind, message))

    def read(self, text: str) -> None:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        start = self._front_matter(lines)
        for number in range(start, len(lines)):
            self._line(number + 1, lines[number].strip())
        self._flush()
        self._end_skip(len(lines))

    # -- metadata

    def _front_matter(self, lines: list[str]) -> int:
        if not lines or lines[0].strip() != "---":
            return 0
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                data = yaml_data(Path(self.name), "\n".join(lines[1:end]), first_line=2)
                if not isinstance(data, dict):
                    raise ScriptError(self.name, [Problem(1, "the front matter between --- lines must be key: value pairs")])
                for key, value in data.items():
                    if str(key).lower() not in META_KEYS:
                        self.warnings.append(Problem(1, f"front matter key '{key}' is not used"))
                    else:
                        self._meta(1, str(key), value)
                return end + 1
        return 0  # no closing line: not front matter after all

    def _meta(self, number: int, label: str, value: object) -> None:
        target = META_KEYS[label.lower()]
        shown = " ".join(str(value).split())[:80]
        if target == "length":
            length = stated_length(str(value))
            if length and self.stated is None:
                self.stated = (number, length)
            self.decide(number, "metadata", f"{label}: {shown} (the script's stated length; not spoken)")
        elif target:
            self.meta.setdefault(target, value)
            self.decide(number, "metadata", f"{label}: {shown} (used as the {target}; not spoken)")
        else:
            self.decide(number, "metadata", f"{label}: {shown} (a note for the producer; not spoken)")

    def _meta_line(self, number: int, line: str) -> bool:
        match = _META_LABEL.fullmatch(line)
        if not match or match.group(1).lower() not in META_KEYS:
            return False
        value = match.group(2).strip(" *_")
        if not value or (_PLAIN_LABEL.match(line.strip("*_")) and (len(value.split()) > 6 or value[-1] in ".!?")):
            return False  # "Voice: Welcome." is a speaker's line; "Voice: calm, female" is metadata
        self._flush()
        self._meta(number, match.group(1), value)
        return True

    # -- producer's sections

    def _end_skip(self, number: int) -> None:
        if self.skipping:
            _, name, first = self.skipping
            self.decide(first, "not spoken", f"section '{name}' (lines {first}-{number}) is for the producer")
            self.skipping = None

    # -- lines

    def _line(self, number: int, line: str) -> None:
        line = _ESCAPE.sub(r"\1", line)
        while line.startswith(">"):
            line = line[1:].lstrip()
        heading = _HEADING.fullmatch(line)
        if self.skipping:  # until a rule, or a heading that is not itself a producer's
            subsection = heading and PRODUCTION.fullmatch(_plain(heading.group(2)).strip("[]()# :"))
            if not (_is_rule(line) or heading) or subsection:
                return
            self._end_skip(number - 1)
        if not line:
            self._flush()
            return
        if _is_rule(line):
            self._flush()
            self.decide(number, "not spoken", f"divider {line[:20]}")
            return
        if heading:
            self._flush()
            self._heading(number, heading.group(2).rstrip(" \t#"), len(heading.group(1)))
            return
        if self._meta_line(number, line):
            return
        clip = _CLIP_ID.match(line)
        if clip:
            self.decide(number, "not spoken", f"clip id {clip.group(0).strip()}")
            line = line[clip.end():]
            if not line:
                return
        if self._phrase_seconds(number, line):
            return
        if self._bold_line(number, line):
            return
        if _ELLIPSIS.fullmatch(line):
            self._flush()
            self._pause(number, ELLIPSIS_PAUSE_S, line)
            return
        if line[0] in "[(" and line[-1] in "])" and _INLINE_TOKEN.fullmatch(line):
            self._flush()
            self._alone(number, line)
            return
        slash = _SLASH_BREAK.fullmatch(line)
        if slash:
            self._flush()
            self._pause(number, float(slash.group(1)), line)
            return
        italic = _ITALIC_LINE.fullmatch(line)
        if italic and self._italic(number, line, italic.group(1) or italic.group(2)):
            return
        item = _LIST_ITEM.fullmatch(line)
        if item:
            self._flush()
            if _STAMP_START.match(item.group(1)):
                self.decide(number, "not spoken", f"timing note {item.group(1)[:60]}")
                return
            self.paragraph.append((number, item.group(1)))
            self._flush()
            return
        if _STAMP_START.match(line):
            self._flush()
            self.decide(number, "not spoken", f"timing note {line[:60]}")
            return
        self.paragraph.append((number, line))

    def _heading(self, number: int, raw: str, level: int) -> None:
        self.seen_heading = True
        name = _plain(raw).strip("[]() ")
        if "title" in self.meta and PRODUCTION.fullmatch(name.strip(" :")):
            self.skipping = (level, name.strip(" :"), number)
            return
        self._section(number, raw)

    def _bold_line(self, number: int, line: str) -> bool:
        bold = _BOLD_LINE.fullmatch(line)
        noted = None if bold else _BOLD_WITH_NOTE.fullmatch(line)
        if noted and trailing_budget(noted.group(2).strip("() "))[0] == noted.group(2).strip("() "):
            noted = None if not trailing_budget(" (" + noted.group(2).strip("()–—- ") + ")")[1] else noted
        if not bold and not noted:
            return False
        self._flush()
        if noted:
            self._section(number, f"{noted.group(1)} ({noted.group(2).strip('()–—- ')})")
            return True
        inner = (bold.group(1) or bold.group(2)).strip()
        if line.endswith(":") or inner.endswith(":"):
            self.decide(number, "not spoken", f"speaker label {line}")
        elif "title" in self.meta and PRODUCTION.fullmatch(_plain(inner).strip("[]() :")):
            self.skipping = (6, _plain(inner).strip("[]() :"), number)
        else:
            self._section(number, inner)
        return True

    def _italic(self, number: int, line: str, inner: str) -> bool:
        """A line that is all italic: a pause, spoken words in quotes, an italic heading, or a
        direction. False if it is none of these (then it is read as text)."""
        self._flush()
        bare = inner.strip()
        seconds = parse_pause(bare.strip("()[] "))
        if seconds is not None:
            self._pause(number, seconds, line)
        elif bare[:1] in _QUOTES and bare[-1:] in _QUOTES and len(bare) > 2:
            self.paragraph.append((number, bare.strip(_QUOTES + " ")))
            self.decide(number, "cue", "a quotation in italics: spoken")
            self._flush()
        elif _is_title(bare):
            self._section(number, bare)
        else:
            self.decide(number, "not spoken", f"direction {line}")
        return True

    def _section(self, number: int, raw: str) -> None:
        text, budget = trailing_budget(_plain(raw).strip("[]() "))
        name = " ".join(text.strip("[]() ").split()).strip(" :–—-")
        if not name:
            return
        if "title" not in self.meta:
            self.meta["title"] = name
            stated = budget or stated_length(name)
            if stated and self.stated is None:
                self.stated = (number, stated)
                self.decide(number, "budget", f"the title states a length of {stated}")
            return
        self.steps.append((number, {"section": name}))
        if budget:
            self.budgets.append((number, name, budget))
            self.decide(number, "budget", f"part '{name}' is meant to last {budget} (a length, not a pause)")

    def _pause(self, number: int, seconds: float, line: str) -> None:
        self.steps.append((number, {"pause": _seconds(seconds)}))
        self.decide(number, "cue", f"{line[:60]} is a pause of {seconds:g} s")

    def _alone(self, number: int, line: str) -> None:
        """A bracketed or parenthesised cue on a line of its own."""
        inner = line[1:-1].strip()
        seconds = parse_pause(inner)
        if seconds is not None:
            self._pause(number, seconds, line)
            return
        rest = pause_with_rest(inner)
        if rest:
            self._pause(number, rest[0], line)
            self.decide(number, "not spoken", f"direction '{rest[1]}'")
            return
        closing = bell_cue(inner)
        if closing is not None:
            self.steps.append((number, {"bell": "end"} if closing else "bell"))
            self.decide(number, "cue", f"{line[:60]} is the {'closing' if closing else 'soft'} bell")
            return
        more = repeat_cue(inner)
        if more is not None:
            self._repeat(number, line, more)
            return
        if line[0] == "[":
            cue = _CUE.fullmatch(" ".join(inner.lower().split()))
            if cue:
                self.steps.append((number, self._cue_step(cue)))
                self.decide(number, "cue", f"{line[:60]} is the step {self.steps[-1][1]}")
                return
            stamp = TIMESTAMP.fullmatch(inner)
            if stamp and stamp.group(5):
                self._section(number, stamp.group(5))
                return
            self.warnings.append(Problem(number, f"unrecognised cue {line}, left out"))
            return
        self.decide(number, "not spoken", f"direction {line}")

    def _repeat(self, number: int, line: str, more: int) -> None:
        """Play the steps since the last section `more` more times."""
        start = len(self.steps)
        while start > 0 and not (isinstance(self.steps[start - 1][1], dict) and "section" in self.steps[start - 1][1]):
            start -= 1
        block = self.steps[start:]
        if not block or more == 0:
            self.warnings.append(Problem(number, f"{line} has nothing before it to repeat, left out"))
            return
        if len(self.steps) + len(block) * more > MAX_STEPS:
            self.warnings.append(Problem(number, f"{line} would make the script over {MAX_STEPS} steps, left out"))
            return
        self.steps.extend((line, copy.deepcopy(step)) for _ in range(more) for line, step in block)
        first = block[0][0]
        self.decide(number, "cue", f"{line[:60]}: lines {first}-{block[-1][0]} are played {more} more time"
                    + ("s" if more > 1 else ""))

    def _phrase_seconds(self, number: int, line: str) -> bool:
        """`Phrase;30`: a phrase, then that many seconds of silence (as some generators write)."""
        match = _PHRASE_SECONDS.fullmatch(line)
        if not match or not 0 < float(match.group(2)) <= 3600 or not spoken_text(match.group(1)):
            return False
        self._flush()
        self.paragraph.append((number, match.group(1).strip()))
        self._flush()
        self._pause(number, float(match.group(2)), f";{match.group(2)}")
        return True

    def _cue_step(self, cue: re.Match) -> object:
        if cue.group(1):
            if cue.group(1) == "talk":
                self.couple = True
            return {cue.group(1): cue.group(2).replace(" ", "")}
        if cue.group(3):
            return {"bell": "end"} if cue.group(4) else "bell"
        return {"wait": WAIT_TEXT}

    # -- paragraphs

    def _flush(self) -> None:
        if not self.paragraph:
            return
        first, last = self.paragraph[0][0], self.paragraph[-1][0]
        raw = " ".join(text for _, text in self.paragraph)
        if self._chatter(first, last, raw) or self._title_line(first, raw):
            self.paragraph = []
            return
        pieces = [self._inline(number, self._unlabel(number, text)) for number, text in self.paragraph]
        self.paragraph = []
        text = self._clean(first, _SPACE_BEFORE.sub(r"\1", " ".join(p for p in pieces if p)))
        if not text:
            if raw.strip():
                self.decide(first, "not spoken", f"{raw[:40]!r} has nothing to pronounce")
            return
        words = re.sub(r"\[\d+(?:\.\d+)?s\]", "", text).strip()
        if words:
            if re.search(r"\{[ab]\}", text):
                self.couple = True
            self.steps.append((first, {"say": text}))
        else:  # only silences: each becomes a pause
            for seconds in re.findall(r"\[(\d+(?:\.\d+)?)s\]", text):
                self.steps.append((first, {"pause": f"{seconds}s"}))

    def _chatter(self, first: int, last: int, text: str) -> bool:
        """A chatbot's words to the person who asked for the script, not to the listener."""
        if _SIGN_OFF.match(text):
            self.decide(first, "not spoken", f"a sign-off to the requester (lines {first}-{last})")
            return True
        if not self.steps and not self.seen_heading and "title" not in self.meta and _PREAMBLE.match(text) \
                and _PREAMBLE_TOPIC.search(text):
            self.decide(first, "not spoken", f"a preamble to the requester (lines {first}-{last})")
            return True
        return False

    def _title_line(self, number: int, text: str) -> bool:
        """A plain text's first line standing alone, short and with no sentence ending, is its
        title ("A Twenty-Minute Practice (20 minutes)"): the time note is a length, not a pause."""
        if self.steps or "title" in self.meta or len(self.paragraph) != 1:
            return False
        name, _ = trailing_budget(text)
        if not _is_title(_plain(name)) or _INLINE_TOKEN.search(name):
            return False
        self._section(number, text)
        return True

    def _clean(self, number: int, text: str) -> str:
        """The words only (see player.spoken), keeping placeholders and inline silences; the
        symbols taken out are recorded."""
        kept: list[str] = []

        def hold(match: re.Match) -> str:
            kept.append(match.group(0))
            return f"Zqkeep{len(kept) - 1}qZ"

        held = _PLACEHOLDER.sub(hold, text)
        removed = removed_symbols(held)
        out = re.sub(r"Zqkeep(\d+)qZ", lambda m: kept[int(m.group(1))], spoken_text(held))
        if not out and kept:  # only silences and placeholders around nothing to pronounce
            out = " ".join(kept)
        if removed and out:
            self.decide(number, "symbols", f"took out or rewrote {removed!r} (not spoken as symbols)")
        return out

    def _unlabel(self, number: int, text: str) -> str:
        for pattern in (_BOLD_LABEL, _PLAIN_LABEL):
            match = pattern.match(text)
            if match:
                self.decide(number, "not spoken", f"speaker label {match.group(0).strip()}")
                return text[match.end():]
        return text

    def _inline(self, number: int, text: str) -> str:
        text = _LINK.sub(r"\1", text)
        text = _SLASH_BREAK.sub(lambda m: f" [{float(m.group(1)):g}s] ", text)

        def token(match: re.Match) -> str:
            whole = match.group(0)
            inner = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
            seconds = parse_pause(inner)
            if seconds is not None:
                self.decide(number, "cue", f"{whole[:60]} is a silence of {seconds:g} s")
                return f" [{seconds:g}s] "
            if whole[0] == "[" and (_CUE.fullmatch(inner.lower()) or bell_cue(inner) is not None
                                    or repeat_cue(inner) is not None):
                self.warnings.append(Problem(number, f"the cue {whole} only works on a line of its own, left out"))
                return " "
            if whole[0] == "(":
                if match.start() == 0 or _DIRECTION_WORDS.search(inner) or not spoken_text(inner):
                    self.decide(number, "not spoken", f"direction {whole}")
                    return " "
                return whole
            if re.fullmatch(r"\{?[ab]\}?", inner):
                return whole
            self.warnings.append(Problem(number, f"unrecognised cue {whole}, left out"))
            return " "

        text = _INLINE_TOKEN.sub(token, text)
        text = _ELLIPSIS.sub(lambda m: "…" if m.group(0) == "…" else "...", text)
        text = _EMPHASIS.sub("", text)
        return " ".join(text.split())

    # -- the result

    def data(self) -> dict:
        meta = self.meta
        title = " ".join(str(meta.get("title") or _title_from(self.name)).split())
        if len(title) > MAX_TITLE:
            self.warnings.append(Problem(1, f"the title was cut to {MAX_TITLE} characters"))
            title = title[: MAX_TITLE - 1].rstrip() + "…"
        mode = meta.get("mode") or ("couple" if self.couple else "solo")
        summary = " ".join(str(meta.get("summary") or "").split()) or f"Imported from {Path(self.name).name}"
        data = {"title": title, "summary": summary, "mode": mode}
        if "tags" in meta:
            tags = meta["tags"]
            data["tags"] = tags if isinstance(tags, list) else [t.strip() for t in str(tags).split(",") if t.strip()]
        data["steps"] = [step for _, step in self.steps]
        return data

    def lengths(self, session: Session) -> None:
        """Compare the lengths the author stated with what the script plays, as written."""
        if not self.stated and not self.budgets:
            return
        timeline = build_timeline(session, TimingOptions(), ESTIMATE_RATE)
        by_section: dict[int, int] = {}
        current = None
        for event in timeline.events:
            if event.kind == "section":
                current = event.line
            elif current is not None:
                by_section[current] = by_section.get(current, 0) + event.length
        rate = timeline.length / max(timeline.duration_s, 1e-9)
        for line, name, budget in self.budgets:
            plays = by_section.get(line, 0) / rate
            if plays < TOO_SHORT * budget.low:
                self.decide(line, "length", f"part '{name}' is meant to last {budget} but plays about "
                                            f"{_clock(plays)} as written")
        if self.stated:
            line, budget = self.stated
            plays = timeline.duration_s
            if plays < TOO_SHORT * budget.low:
                self.decide(line, "length", f"the script says it lasts {budget} but plays about {_clock(plays)}"
                                            f" as written; --minutes {budget.low / 60:g} stretches its silences to fit")
            else:
                self.decide(line, "length", f"the script says it lasts {budget}; it plays about {_clock(plays)}")


def _is_rule(line: str) -> bool:
    """A Markdown thematic break: three or more of one of - * _ and nothing else but spaces."""
    marks = line.replace(" ", "")
    return len(marks) >= 3 and len(set(marks)) == 1 and marks[0] in "-*_=~"


def _is_title(text: str) -> bool:
    """Short words in Title Case with no sentence ending: "Body Scan", "Breathing In"."""
    words = text.split()
    if not 1 <= len(words) <= 8 or text[-1:] in ".!?…,;:" or _DIRECTION_WORDS.search(text):
        return False
    capitals = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
    return words[0][:1].isupper() and capitals * 2 > len(words)


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _plain(text: str) -> str:
    return " ".join(_EMPHASIS.sub("", _LINK.sub(r"\1", text)).split())


def _title_from(name: str) -> str:
    stem = re.sub(r"[-_]+", " ", Path(name).stem).strip()
    return stem[:1].upper() + stem[1:] if stem else "Untitled"


def import_script(path: Path, strict: bool = False) -> Imported:
    """Read a .md or .txt script into a validated Session. With `strict`, lines it could not
    place are errors instead of warnings."""
    path = Path(path)
    text = read_text(path)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ScriptError(str(path), [Problem(line, "this is not a text file (it holds binary data)")])
    reader = _Reader(str(path))
    reader.read(text)
    data = reader.data()
    if not data["steps"]:
        raise ScriptError(str(path), [Problem(1, "nothing to play: no text or cues were found")])
    fields = {k: v for k, v in data.items() if k != "steps"}
    session = session_from_data(path, fields, reader.steps, reader.warnings if strict else ())
    reader.lengths(session)
    decisions = tuple(sorted(reader.decisions, key=lambda d: d.line))
    return Imported(session, decisions, tuple(reader.warnings), data)


def to_yaml(imported: Imported, source: Path) -> str:
    """The imported script as a YAML script, with what was left out noted at the top."""
    lines = [f"# Converted from {Path(source).name} by 'guided convert'."]
    for decision in imported.decisions:
        if decision.kind in UNSPOKEN:
            lines.append(f"# Not spoken, line {decision.line}: {decision.message}")
    for warning in imported.warnings:
        lines.append(f"# Left out, line {warning.line}: {warning.message}")
    body = yaml.safe_dump(imported.data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body
