"""Stage 1, for scripts people already have: plain text and Markdown, read as they are written.

Headings become sections, paragraphs become spoken steps, pause cues in their many common
forms become silences, and stage directions are kept as notes instead of being spoken. The
result goes through the very same validation as a YAML script (the importer builds the same
node tree, with the source's line numbers), so there is one model and one timeline.

Every pattern here is linear-time: lines are handled one at a time, and no regex nests a
quantifier, so an odd or hostile file cannot make parsing hang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from player.errors import Problem, ScriptError
from player.script import MAX_TITLE, Session, _Checker, _compose, _read_text

DEFAULT_PAUSE_S = 5.0
LONG_PAUSE_S = 15.0
SHORT_PAUSE_S = 3.0
ELLIPSIS_PAUSE_S = 3.0
WAIT_TEXT = "Press space when you are ready."
META_KEYS = {"title": "title", "purpose": "summary", "summary": "summary", "duration": None, "mode": "mode",
             "tags": "tags"}
ROLE_LABELS = r"(?:instructor|guide|teacher|narrator|facilitator|therapist|coach|speaker|host|leader|voice)"

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_NUM = rf"(\d{{1,4}}(?:\.\d{{1,3}})?|(?:{_WORD})(?:[ -](?:{_WORD}))?)"
_UNIT = r"(s|secs?|seconds?|m|mins?|minutes?)"
_PAUSE_FORMS = [
    re.compile(rf"{_NUM}\s*{_UNIT}"),  # [5s], (10 seconds)
    re.compile(rf"pause\s*(?:for\s+|:\s*)?{_NUM}(?:\s*{_UNIT})?"),  # [pause 5s], [PAUSE:5], (pause for 10 seconds)
    re.compile(rf"{_NUM}\s*{_UNIT}\s+(?:of\s+)?(?:silence|quiet|stillness|pause)"),  # (10 seconds of silence)
    re.compile(rf"(?:silence|quiet|stillness)\s*(?:for\s+)?{_NUM}\s*{_UNIT}"),
]
_FIXED_PAUSES = {"pause": DEFAULT_PAUSE_S, "long pause": LONG_PAUSE_S, "short pause": SHORT_PAUSE_S,
                 "silence": DEFAULT_PAUSE_S}
_TIMESTAMP = re.compile(r"(\d{1,2}):(\d{2})\s*[–—-]\s*(\d{1,2}):(\d{2})\s*(?::\s*(.{0,80}))?")
_SILENT_WORDS = re.compile(r"silen|pause|quiet|reflect|breath|still")
_CUE = re.compile(r"(talk|reflect)\s+(\d{1,3}(?:\.\d)?\s*[sm]|\d{1,2}m\d{1,2}s)|(bell)(?:\s*:?\s*(end))?|(wait)")
_HEADING = re.compile(r"(#{1,6})\s+(.*)")  # closing #s are stripped after: no overlapping quantifiers
_BOLD_LINE = re.compile(r"\*\*([^*]{1,120})\*\*:?|__([^_]{1,120})__:?")
_ITALIC_LINE = re.compile(r"\*([^*]{1,400})\*|_([^_]{1,400})_")
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s+(.*)")
_ELLIPSIS = re.compile(r"\.(?:[ \t]*\.){2,}|…")
_BOLD_LABEL = re.compile(r"\*\*([^*:]{1,30}):\*\*\s*|\*\*([^*:]{1,30})\*\*:\s*")
_PLAIN_LABEL = re.compile(rf"{ROLE_LABELS}(?:\s+\d)?\s*:\s+", re.I)
_LINK = re.compile(r"!?\[([^\]\n]{0,200})\]\([^)\n]{0,400}\)")
_INLINE_TOKEN = re.compile(r"\[([^\[\]\n]{0,80})\]|\(([^()\n]{0,120})\)")
_EMPHASIS = re.compile(r"\*\*|__|(?<![\w*])[*_](?=\S)|(?<=\S)[*_](?![\w*])")
_TIME_NOTE = re.compile(r"\s*(?:[–—-]|\()\s*\d{1,3}(?:[.,]\d)?\s*(?:s|sec|secs|seconds?|m|min|mins|minutes?)\)?\s*$",
                        re.I)


@dataclass(frozen=True)
class Imported:
    """A script read from text: the session, the stage directions left unspoken, the lines
    it could not place, and the equivalent YAML data (for `guided convert`)."""

    session: Session
    notes: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    data: dict = field(default_factory=dict, repr=False)


def parse_pause(cue: str) -> float | None:
    """Seconds for a pause cue's words ("pause for ten seconds", "2 minutes of silence"), or None."""
    text = " ".join(cue.lower().replace("’", "'").split())
    if text in _FIXED_PAUSES:
        return _FIXED_PAUSES[text]
    for form in _PAUSE_FORMS:
        match = form.fullmatch(text)
        if match:
            number = _number(match.group(1))
            if number is None:
                return None
            unit = match.group(2) if match.lastindex and match.lastindex >= 2 else None
            return number * 60 if unit and unit.startswith("m") else number
    match = _TIMESTAMP.fullmatch(text)
    if match and (match.group(5) is None or _SILENT_WORDS.search(match.group(5))):
        start = int(match.group(1)) * 60 + int(match.group(2))
        end = int(match.group(3)) * 60 + int(match.group(4))
        return float(end - start) if end > start else None
    return None


def _number(word: str | None) -> float | None:
    if word is None:
        return None
    if word[0].isdigit():
        return float(word)
    total = 0
    for part in re.split(r"[ -]", word):
        if part not in _NUMBER_WORDS:
            return None
        total += _NUMBER_WORDS[part]
    return float(total)


def _seconds(value: float) -> str:
    return f"{value:g}s"


class _Reader:
    """Turns the lines of a text script into YAML-shaped data, step by step, with lines."""

    def __init__(self, name: str):
        self.name = name
        self.meta: dict = {}
        self.steps: list[tuple[int, object]] = []  # (line, step as YAML data)
        self.notes: list[Problem] = []
        self.warnings: list[Problem] = []
        self.paragraph: list[tuple[int, str]] = []
        self.couple = False

    def read(self, text: str) -> None:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        start = self._front_matter(lines)
        start = self._meta_lines(lines, start)
        for number in range(start, len(lines)):
            self._line(number + 1, lines[number].strip())
        self._flush()

    # -- metadata

    def _front_matter(self, lines: list[str]) -> int:
        if not lines or lines[0].strip() != "---":
            return 0
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                block = "\n".join(lines[1:end])
                data = self._front_matter_data(block)
                if not isinstance(data, dict):
                    raise ScriptError(self.name, [Problem(1, "the front matter between --- lines must be key: value pairs")])
                for key, value in data.items():
                    target = META_KEYS.get(str(key).lower(), "unknown")
                    if target == "unknown":
                        self.warnings.append(Problem(1, f"front matter key '{key}' is not used"))
                    elif target:
                        self.meta[target] = value
                return end + 1
        return 0  # no closing line: not front matter after all

    def _front_matter_data(self, block: str) -> object:
        """The front matter's YAML, safely: its errors carry the file's own line numbers."""
        if not block.strip():
            return None
        try:
            _compose(Path(self.name), block)  # refuses anchors and aliases, reports syntax
            return yaml.safe_load(block)
        except ScriptError as exc:  # lines counted from the block: the file's are one more
            raise ScriptError(self.name, [Problem(p.line + 1, p.message) for p in exc.problems]) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark else 1
            raise ScriptError(self.name, [Problem(line, f"front matter: {getattr(exc, 'problem', None) or exc}")]) from None

    def _meta_lines(self, lines: list[str], start: int) -> int:
        number = start
        while number < len(lines):
            line = lines[number].strip()
            if not line:
                number += 1
                continue
            match = re.fullmatch(r"\**([A-Za-z]{4,8})\**\s*:\s*\**\s*(.{1,300}?)\s*\**", line)
            if not match or match.group(1).lower() not in META_KEYS:
                break
            target = META_KEYS[match.group(1).lower()]
            if target:
                self.meta.setdefault(target, match.group(2))
            number += 1
        return number

    # -- lines

    def _line(self, number: int, line: str) -> None:
        if not line:
            self._flush()
            return
        heading = _HEADING.fullmatch(line)
        if heading:
            self._flush()
            self._section(number, heading.group(2).rstrip(" \t#"))
            return
        bold = _BOLD_LINE.fullmatch(line)
        if bold:
            self._flush()
            inner = (bold.group(1) or bold.group(2)).strip()
            if line.endswith(":") or inner.endswith(":"):
                self.notes.append(Problem(number, f"speaker label {line}"))
            else:
                self._section(number, inner)
            return
        if _ELLIPSIS.fullmatch(line):
            self._flush()
            self.steps.append((number, {"pause": _seconds(ELLIPSIS_PAUSE_S)}))
            return
        if line[0] in "[(" and line[-1] in "])" and _INLINE_TOKEN.fullmatch(line):
            self._flush()
            self._alone(number, line)
            return
        italic = _ITALIC_LINE.fullmatch(line)
        if italic:
            self._flush()
            inner = italic.group(1) or italic.group(2)
            seconds = parse_pause(inner.strip("()[] "))
            if seconds is not None:
                self.steps.append((number, {"pause": _seconds(seconds)}))
            else:
                self.notes.append(Problem(number, f"direction {line}"))
            return
        item = _LIST_ITEM.fullmatch(line)
        if item:
            self._flush()
            self.paragraph.append((number, item.group(1)))
            self._flush()
            return
        self.paragraph.append((number, line))

    def _section(self, number: int, raw: str) -> None:
        name = _TIME_NOTE.sub("", _plain(raw).strip("[]() ")).strip(" :–—-")
        if not name:
            return
        if "title" not in self.meta:
            self.meta["title"] = name
            return
        self.steps.append((number, {"section": name}))

    def _alone(self, number: int, line: str) -> None:
        """A bracketed or parenthesised cue on a line of its own."""
        inner = line[1:-1].strip()
        seconds = parse_pause(inner)
        if seconds is not None:
            self.steps.append((number, {"pause": _seconds(seconds)}))
            return
        if line[0] == "[":
            cue = _CUE.fullmatch(" ".join(inner.lower().split()))
            if cue:
                self.steps.append((number, self._cue_step(cue)))
                return
            stamp = _TIMESTAMP.fullmatch(inner)
            if stamp and stamp.group(5):
                self._section(number, stamp.group(5))
                return
            self.warnings.append(Problem(number, f"unrecognised cue {line}, left out"))
            return
        self.notes.append(Problem(number, f"direction {line}"))

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
        first = self.paragraph[0][0]
        pieces = [self._inline(number, self._unlabel(number, text)) for number, text in self.paragraph]
        self.paragraph = []
        text = " ".join(p for p in pieces if p)
        if not text:
            return
        words = re.sub(r"\[\d+(?:\.\d+)?s\]", "", text).strip()
        if words:
            if re.search(r"\{[ab]\}", text):
                self.couple = True
            self.steps.append((first, {"say": text}))
        else:  # only silences: each becomes a pause
            for seconds in re.findall(r"\[(\d+(?:\.\d+)?)s\]", text):
                self.steps.append((first, {"pause": f"{seconds}s"}))

    def _unlabel(self, number: int, text: str) -> str:
        for pattern in (_BOLD_LABEL, _PLAIN_LABEL):
            match = pattern.match(text)
            if match:
                self.notes.append(Problem(number, f"speaker label {match.group(0).strip()}"))
                return text[match.end():]
        return text

    def _inline(self, number: int, text: str) -> str:
        text = _LINK.sub(r"\1", text)

        def token(match: re.Match) -> str:
            whole = match.group(0)
            inner = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
            seconds = parse_pause(inner)
            if seconds is not None:
                return f" [{seconds:g}s] "
            if whole[0] == "[" and _CUE.fullmatch(inner.lower()):
                self.warnings.append(Problem(number, f"the cue {whole} only works on a line of its own, left out"))
                return " "
            if whole[0] == "(":
                self.notes.append(Problem(number, f"direction {whole}"))
                return " "
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
        data = {"title": title, "summary": meta.get("summary") or f"Imported from {Path(self.name).name}",
                "mode": mode}
        if "tags" in meta:
            tags = meta["tags"]
            data["tags"] = tags if isinstance(tags, list) else [t.strip() for t in str(tags).split(",") if t.strip()]
        data["steps"] = [step for _, step in self.steps]
        return data


def _plain(text: str) -> str:
    return " ".join(_EMPHASIS.sub("", _LINK.sub(r"\1", text)).split())


def _title_from(name: str) -> str:
    stem = re.sub(r"[-_]+", " ", Path(name).stem).strip()
    return stem[:1].upper() + stem[1:] if stem else "Untitled"


def _node(value: object, line: int) -> yaml.Node:
    """A YAML node as the parser would have made it, marked with the source line."""
    mark = yaml.Mark("import", 0, max(line - 1, 0), 0, None, None)
    if isinstance(value, dict):
        pairs = [(_node(str(k), line), _node(v, line)) for k, v in value.items()]
        return yaml.MappingNode("tag:yaml.org,2002:map", pairs, mark, mark)
    if isinstance(value, list):
        return yaml.SequenceNode("tag:yaml.org,2002:seq", [_node(v, line) for v in value], mark, mark)
    if value is None:
        return yaml.ScalarNode("tag:yaml.org,2002:null", "", mark, mark)
    if isinstance(value, bool):
        return yaml.ScalarNode("tag:yaml.org,2002:bool", str(value).lower(), mark, mark)
    if isinstance(value, (int, float)):
        tag = "int" if isinstance(value, int) else "float"
        return yaml.ScalarNode(f"tag:yaml.org,2002:{tag}", str(value), mark, mark)
    return yaml.ScalarNode("tag:yaml.org,2002:str", str(value), mark, mark)


def import_script(path: Path, strict: bool = False) -> Imported:
    """Read a .md or .txt script into a validated Session. With `strict`, lines it could not
    place are errors instead of warnings."""
    path = Path(path)
    text = _read_text(path)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ScriptError(str(path), [Problem(line, "this is not a text file (it holds binary data)")])
    reader = _Reader(str(path))
    reader.read(text)
    data = reader.data()
    if not data["steps"]:
        raise ScriptError(str(path), [Problem(1, "nothing to play: no text or cues were found")])
    steps = yaml.SequenceNode("tag:yaml.org,2002:seq", [_node(step, line) for line, step in reader.steps],
                              yaml.Mark("import", 0, 0, 0, None, None), yaml.Mark("import", 0, 0, 0, None, None))
    top = {k: v for k, v in data.items() if k != "steps"}
    root = _node(top, 1)
    root.value.append((_node("steps", 1), steps))
    checker = _Checker()
    session = checker.session(root, path)
    problems = checker.problems + (reader.warnings if strict else [])
    if problems:
        raise ScriptError(str(path), problems)
    return Imported(session, tuple(reader.notes), tuple(reader.warnings), data)


def to_yaml(imported: Imported, source: Path) -> str:
    """The imported script as a YAML script, with what was left out noted at the top."""
    lines = [f"# Converted from {Path(source).name} by 'guided convert'."]
    for note in imported.notes:
        lines.append(f"# Not spoken, line {note.line}: {note.message}")
    for warning in imported.warnings:
        lines.append(f"# Left out, line {warning.line}: {warning.message}")
    body = yaml.safe_dump(imported.data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body
