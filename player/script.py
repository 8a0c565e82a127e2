"""Stage 1: read a session script (YAML, format v1), validate it, and return a `Session`.

Validation collects every problem with the line it is on, so an author sees them all at once.
Nothing here runs user data through `str.format` or YAML tags: only plain safe scalars.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor

from player.errors import BadName, Problem, ScriptError
from player.spoken import has_words

MAX_SCRIPT_BYTES = 1_000_000
MAX_NESTING = 64  # levels of lists and mappings; real scripts use fewer than 10
MAX_BLOCK_PREFIX = 2 * MAX_NESTING  # columns of indentation and "- " before a line's content
SCALAR_STARTS = "\n:-[{,?"  # after one of these (spaces aside) a quote opens a quoted scalar
MAX_TITLE = 80
MAX_SECONDS = 3600.0
DEFAULT_WAIT_FALLBACK = 30.0

PLACEHOLDERS = ("{a}", "{b}", "{speaker}", "{listener}")
TOP_KEYS = ("title", "summary", "mode", "tags", "pronounce", "steps")
# Each step kind and the extra keys it may carry.
STEP_KEYS = {
    "section": (),
    "say": (),
    "pause": (),
    "bell": (),
    "reflect": ("prompt",),
    "talk": ("prompt",),
    "wait": ("fallback",),
    "respond": ("prompt",),
    "turns": ("steps", "announce"),
}
COUPLE_ONLY = ("talk", "respond", "turns")
TURN_ORDERS = (("a", "b"), ("b", "a"))
ALTERNATE = "alternate"
# What the voice says for a respond step without a prompt: the listener answers the speaker.
DEFAULT_RESPOND_PROMPT = "{listener}, tell {speaker} what you heard."

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
INLINE_BREAK = re.compile(r"\[(\d+(?:\.\d+)?)s\]")
_BRACKET = re.compile(r"\[[^\[\]]*\]")
_BRACES = re.compile(r"\{[^{}]*\}")
_NAME_PLACEHOLDER = re.compile(r"\{(?:a|b|speaker|listener)\}")


@dataclass(frozen=True)
class Step:
    """One step of a script. `text` is the spoken text, prompt or section name."""

    kind: str
    line: int
    text: str = ""
    seconds: float = 0.0
    closing: bool = False
    order: tuple[str, ...] = ()  # turns: ("a", "b"), ("b", "a"), or () to alternate across the session
    steps: tuple[Step, ...] = ()
    announce: bool = False  # turns: the player says whose turn it is before each turn


@dataclass(frozen=True)
class Session:
    id: str
    path: Path
    title: str
    summary: str
    mode: str
    tags: tuple[str, ...]
    steps: tuple[Step, ...] = field(repr=False)
    # names the voice says differently, as written for the ear: (name as typed, as said)
    pronounce: tuple[tuple[str, str], ...] = ()


def parse_duration(value: object) -> float | None:
    """Seconds for `45s`, `2m`, `1m30s` or a bare number; None when it is none of those."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer past float's range: out of range, not a crash
            return float("inf")
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if text and match and (match.group(1) or match.group(2)):
        return float(match.group(1) or 0) * 60 + float(match.group(2) or 0)
    try:
        return float(text)
    except ValueError:
        return None


def load_session(path: Path) -> Session:
    """Read and validate the script at `path`; raise ScriptError listing every problem."""
    path = Path(path)
    root = parse_yaml(path, read_text(path))
    checker = _Checker()
    session = checker.session(root, path)
    if checker.problems:
        raise ScriptError(str(path), checker.problems)
    return session


def session_from_data(path: Path, fields: dict, steps: Sequence[tuple[int, object]],
                      also: Iterable[Problem] = ()) -> Session:
    """Validate a script given as plain data, exactly as a YAML script is validated.

    `fields` are the top-level keys but `steps` (all on line 1); `steps` pairs each step, as
    YAML would load it (`{"say": "..."}`, `"bell"`), with its line in the source. Problems in
    `also` are reported with validation's own, sorted by line. This is how the text importer
    gets the one model and the one set of checks."""
    path = Path(path)
    mark = _mark(1)
    root = _node(fields, 1)
    root.value.append((_node("steps", 1), yaml.SequenceNode(_SEQ, [_node(v, n) for n, v in steps], mark, mark)))
    checker = _Checker()
    session = checker.session(root, path)
    problems = sorted([*checker.problems, *also], key=lambda p: p.line)
    if problems:
        raise ScriptError(str(path), problems)
    return session


def read_text(path: Path) -> str:
    """The text of a script file, refusing what is not a regular file (a folder, a device, a
    pipe that would never end), more than MAX_SCRIPT_BYTES, or not UTF-8."""
    path = Path(path)
    data = read_limited(path, MAX_SCRIPT_BYTES, ScriptError, "scripts are limited to 1 MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScriptError(str(path), [Problem(line, "not UTF-8 text; save the file as UTF-8")]) from None


def read_limited(path: Path, limit: int, error: type, advice: str) -> bytes:
    """At most `limit` bytes of the regular file at `path`; `error(path, problems)` for anything
    else. A FIFO is opened without blocking and refused, like a device (/dev/zero) or a folder,
    and no more than the limit is ever read, so nothing here can hang or fill the memory."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(str(path), [Problem(1, f"cannot read the file: {exc.strerror}")]) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise error(str(path), [Problem(1, "not a regular file; give the path of a script file")])
    with os.fdopen(fd, "rb") as f:
        size = info.st_size
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise error(str(path), [Problem(1, f"cannot read the file: {exc.strerror}")]) from None
    if len(data) > limit:
        raise error(str(path), [Problem(1, f"file is {max(size, len(data)):,} bytes; {advice}")])
    return data


def _check_nesting(path: Path, text: str) -> None:
    """Refuse nesting deeper than MAX_NESTING before PyYAML sees the text: its scanner slows
    with the square of the depth of [ and { brackets, and its composer recurses once a level.
    One pass, linear in the text. Brackets in quoted scalars and comments are not counted (a
    quote counts only where a scalar can begin, so the apostrophe in "don't" opens nothing);
    a line's block nesting is bounded by its indentation and leading "- " or "? " indicators."""
    depth = 0
    quote = ""  # the open quote character, "#" in a comment
    escaped = False
    line, column, line_start = 1, 0, True
    previous = "\n"  # the last character that was not a space
    for char in text:
        if char == "\n":
            line, column, line_start = line + 1, 0, True
            if quote == "#":
                quote = ""
            previous = "\n"
            continue
        if line_start and not quote:
            if char in " \t-?":
                column += 1
                if column > MAX_BLOCK_PREFIX:
                    _too_deep(path, line)
                if char not in " \t":
                    previous = char
                continue
            line_start = False
        if quote:
            if quote == '"' and char == "\\" and not escaped:
                escaped = True
                continue
            if char == quote and quote != "#" and not escaped:
                quote, previous = "", char
            escaped = False
            continue
        if char in "\"'" and previous in SCALAR_STARTS:
            quote = char
        elif char == "#" and previous in SCALAR_STARTS:
            quote = "#"
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                _too_deep(path, line)
        elif char in "]}":
            depth = max(0, depth - 1)
        if char not in " \t":
            previous = char


def _too_deep(path: Path, line: int) -> None:
    raise ScriptError(str(path), [Problem(line, f"nested too deeply; keep lists and mappings within {MAX_NESTING} levels")])


def parse_yaml(path: Path, text: str) -> yaml.Node:
    """Parse YAML into a node tree (lines kept), refusing anchors and aliases."""
    _check_nesting(path, text)
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1
                raise ScriptError(
                    str(path), [Problem(line, "YAML anchors and aliases (&name, *name) are not allowed")]
                )
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScriptError(str(path), [Problem(line, f"not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ScriptError(str(path), [Problem(1, f"not valid YAML: {exc}")]) from None
    except RecursionError:  # _check_nesting should have refused it first
        _too_deep(path, 1)
    if root is None:
        raise ScriptError(str(path), [Problem(1, "the file is empty; a script needs title, summary and steps")])
    return root


def yaml_data(path: Path, text: str, first_line: int = 1) -> object:
    """Plain data from a YAML fragment that starts on `first_line` of the file at `path` (a
    text script's front matter): safe scalars only, no anchors; errors name the file's line."""
    if not text.strip():
        return None
    shift = first_line - 1
    try:
        parse_yaml(path, text)
        return yaml.safe_load(text)
    except ScriptError as exc:
        raise ScriptError(str(path), [Problem(p.line + shift, p.message) for p in exc.problems]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + shift if mark else first_line
        raise ScriptError(str(path), [Problem(line, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from None


_SEQ = "tag:yaml.org,2002:seq"


def _mark(line: int) -> yaml.Mark:
    return yaml.Mark("data", 0, max(line - 1, 0), 0, None, None)


def _node(value: object, line: int) -> yaml.Node:
    """The node the YAML parser would have made for `value`, marked with the source line."""
    mark = _mark(line)
    if isinstance(value, dict):
        pairs = [(_node(str(k), line), _node(v, line)) for k, v in value.items()]
        return yaml.MappingNode("tag:yaml.org,2002:map", pairs, mark, mark)
    if isinstance(value, (list, tuple)):
        return yaml.SequenceNode(_SEQ, [_node(v, line) for v in value], mark, mark)
    if value is None:
        return yaml.ScalarNode("tag:yaml.org,2002:null", "", mark, mark)
    if isinstance(value, bool):
        return yaml.ScalarNode("tag:yaml.org,2002:bool", str(value).lower(), mark, mark)
    if isinstance(value, (int, float)):
        tag = "int" if isinstance(value, int) else "float"
        return yaml.ScalarNode(f"tag:yaml.org,2002:{tag}", str(value), mark, mark)
    return yaml.ScalarNode("tag:yaml.org,2002:str", str(value), mark, mark)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Checker:
    """Walks the node tree, building steps and collecting problems."""

    def __init__(self):
        self.problems: list[Problem] = []
        self.mode = "solo"
        self._constructor = SafeConstructor()

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(_line(node), message))

    def scalar(self, node: yaml.Node) -> object:
        if not isinstance(node, yaml.ScalarNode):
            return node  # a list or mapping where a scalar belongs; callers report it
        try:
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):  # e.g. an integer of over 4,300 digits
            return node.value

    def mapping(self, node: yaml.MappingNode) -> list[tuple[str, yaml.Node, yaml.Node]]:
        items = []
        seen = set()
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            if not isinstance(key, str):
                self.problem(key_node, f"keys must be words, not {key!r}")
                continue
            if key in seen:
                self.problem(key_node, f"'{key}' is given twice")
            seen.add(key)
            items.append((key, key_node, value_node))
        return items

    # -- the document

    def session(self, root: yaml.Node, path: Path) -> Session:
        if not isinstance(root, yaml.MappingNode):
            self.problem(root, "a script is a mapping with title, summary, mode and steps")
            return Session(path.stem, path, "", "", "solo", (), ())
        fields = {}
        for key, key_node, value in self.mapping(root):
            if key not in TOP_KEYS:
                self.problem(key_node, f"unknown key '{key}' (expected one of: {', '.join(TOP_KEYS)})")
            else:
                fields[key] = value
        mode_node = fields.get("mode")
        if mode_node is not None:
            mode = self.scalar(mode_node)
            if mode not in ("solo", "couple"):
                self.problem(mode_node, f"mode must be 'solo' or 'couple', not {mode!r}")
            else:
                self.mode = mode
        title = self.required_text(root, fields, "title")
        if len(title) > MAX_TITLE:
            self.problem(fields["title"], f"title is {len(title)} characters; keep it to {MAX_TITLE}")
        summary = self.required_text(root, fields, "summary")
        tags = self.tags(fields.get("tags"))
        pronounce = self.pronounce(fields.get("pronounce"))
        steps: tuple[Step, ...] = ()
        if "steps" not in fields:
            self.problem(root, "missing 'steps': a script needs at least one step")
        else:
            steps = self.step_list(fields["steps"], inside_turns=False)
            if steps and not _audible(steps):
                self.problem(fields["steps"], "nothing to hear: the steps are only sections; add something to say")
        return Session(path.stem, path, title, summary, self.mode, tags, steps, pronounce)

    def optional(self, node: yaml.Node | None, kind: type, wrong: str) -> bool:
        """Whether an optional key's node is there and of `kind`; `wrong` is said if it is not."""
        if node is not None and not isinstance(node, kind):
            self.problem(node, wrong)
        return isinstance(node, kind)

    def pronounce(self, node: yaml.Node | None) -> tuple[tuple[str, str], ...]:
        """`pronounce: {Siobhan: shiv-awn}`: a name, and how the voice should say it."""
        from player.names import check_spoken

        if not self.optional(node, yaml.MappingNode,
                             "pronounce must map names to how they are said, e.g. {Siobhan: shiv-awn}"):
            return ()
        pairs = []
        for name, name_node, value in self.mapping(node):
            said = self.scalar(value)
            if not isinstance(name, str) or not name.strip() or not isinstance(said, str):
                self.problem(name_node, "pronounce maps a name to text, e.g. Siobhan: shiv-awn")
                continue
            try:
                pairs.append((name.strip(), check_spoken(said)))
            except BadName as exc:
                self.problem(value, f"pronounce: {name}: {exc}")
        return tuple(pairs)

    def required_text(self, root: yaml.Node, fields: dict, key: str) -> str:
        if key not in fields:
            self.problem(root, f"missing '{key}'")
            return ""
        value = self.scalar(fields[key])
        if not isinstance(value, str) or not value.strip():
            self.problem(fields[key], f"'{key}' must be non-empty text")
            return ""
        return " ".join(value.split())

    def tags(self, node: yaml.Node | None) -> tuple[str, ...]:
        if not self.optional(node, yaml.SequenceNode, "tags must be a list of words, e.g. [couple, listening]"):
            return ()
        tags = []
        for item in node.value:
            value = self.scalar(item)
            if not isinstance(value, str) or not value.strip():
                self.problem(item, "each tag must be non-empty text")
            else:
                tags.append(value.strip())
        return tuple(tags)

    # -- steps

    def step_list(self, node: yaml.Node, inside_turns: bool) -> tuple[Step, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, "steps must be a non-empty list")
            return ()
        steps = (self.step(item, inside_turns) for item in node.value)
        return tuple(step for step in steps if step is not None)

    def step(self, node: yaml.Node, inside_turns: bool) -> Step | None:
        if isinstance(node, yaml.ScalarNode):
            word = self.scalar(node)
            if word == "bell":
                return Step("bell", _line(node))
            self.problem(node, f"unknown step {word!r}; a bare word step can only be 'bell'")
            return None
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "a step is a mapping like 'say: text' or 'pause: 10s'")
            return None
        items = self.mapping(node)
        kinds = [(key, key_node, value) for key, key_node, value in items if key in STEP_KEYS]
        if len(kinds) != 1:
            names = ", ".join(k for k, _, _ in kinds) or ", ".join(k for k, _, _ in items) or "nothing"
            self.problem(
                node,
                f"unknown step kind ({names}); a step is one of: {', '.join(STEP_KEYS)}"
                if not kinds
                else f"a step has one kind, this one has {len(kinds)} ({names})",
            )
            return None
        kind, _, value = kinds[0]
        extras = {}
        for key, key_node, extra in items:
            if key == kind:
                continue
            if key not in STEP_KEYS[kind]:
                allowed = ", ".join(STEP_KEYS[kind]) or "no other keys"
                self.problem(key_node, f"unknown key '{key}' in a {kind} step (allowed: {allowed})")
            else:
                extras[key] = extra
        if kind in COUPLE_ONLY and self.mode != "couple":
            self.problem(node, f"{kind} steps need 'mode: couple'")
        if kind == "turns" and inside_turns:
            self.problem(node, "turns cannot be nested inside turns")
        if kind == "respond" and not inside_turns:
            self.problem(node, "respond steps belong inside a turns step: the listener answers the speaker")
        return getattr(self, f"step_{kind}")(node, value, extras, inside_turns)

    def step_section(self, node, value, extras, inside_turns):
        name = self.text(value, inside_turns, what="section name")
        if INLINE_BREAK.search(name):
            self.problem(value, "a section name is not spoken, so it cannot hold a silence like [2s]")
        return Step("section", _line(node), text=name)

    def step_say(self, node, value, extras, inside_turns):
        text = self.text(value, inside_turns, what="say text")
        if text and not INLINE_BREAK.sub("", text).strip():
            self.problem(value, "say text has only silences and no words; use a pause step")
        else:
            self.pronounceable(value, text, "say text")
        return Step("say", _line(node), text=text)

    def step_pause(self, node, value, extras, inside_turns):
        return Step("pause", _line(node), seconds=self.duration(value, "pause"))

    def step_bell(self, node, value, extras, inside_turns):
        word = self.scalar(value)
        if word not in (None, "end"):
            self.problem(value, f"bell takes no value, or 'end' for the closing bell, not {word!r}")
        return Step("bell", _line(node), closing=word == "end")

    def step_reflect(self, node, value, extras, inside_turns):
        return self.timed_with_prompt("reflect", node, value, extras, inside_turns)

    def step_talk(self, node, value, extras, inside_turns):
        return self.timed_with_prompt("talk", node, value, extras, inside_turns)

    def step_respond(self, node, value, extras, inside_turns):
        step = self.timed_with_prompt("respond", node, value, extras, inside_turns)
        return step if step.text else Step("respond", step.line, text=DEFAULT_RESPOND_PROMPT, seconds=step.seconds)

    def timed_with_prompt(self, kind, node, value, extras, inside_turns):
        seconds = self.duration(value, kind)
        prompt = ""
        if "prompt" in extras:
            prompt = self.text(extras["prompt"], inside_turns, what="prompt")
            self.pronounceable(extras["prompt"], prompt, "prompt")
        return Step(kind, _line(node), text=prompt, seconds=seconds)

    def step_wait(self, node, value, extras, inside_turns):
        text = self.text(value, inside_turns, what="wait text")
        self.pronounceable(value, text, "wait text")
        fallback = DEFAULT_WAIT_FALLBACK
        if "fallback" in extras:
            fallback = self.duration(extras["fallback"], "fallback")
        return Step("wait", _line(node), text=text, seconds=fallback)

    def step_turns(self, node, value, extras, inside_turns):
        order = self.turn_order(value)
        announce = False
        if "announce" in extras:
            announce = self.scalar(extras["announce"])
            if not isinstance(announce, bool):
                self.problem(extras["announce"], f"announce takes true or false, not {_shown(announce)}")
                announce = False
        steps: tuple[Step, ...] = ()
        if "steps" not in extras:
            self.problem(node, "turns needs 'steps': the steps each partner takes in turn")
        else:
            steps = self.step_list(extras["steps"], inside_turns=True)
        return Step("turns", _line(node), order=order, steps=steps, announce=announce)

    def turn_order(self, value: yaml.Node) -> tuple[str, ...]:
        """Who begins: ("a", "b"), ("b", "a"), or () for `alternate`."""
        if isinstance(value, yaml.ScalarNode) and self.scalar(value) == ALTERNATE:
            return ()
        if isinstance(value, yaml.SequenceNode):
            order = tuple(self.scalar(item) for item in value.value)
            if order in TURN_ORDERS:
                return order
        self.problem(value, "turns takes [a, b], [b, a] or alternate: who speaks first")
        return ("a", "b")

    # -- values

    def pronounceable(self, node: yaml.Node, text: str, what: str) -> None:
        """Refuse spoken text the voice would get nothing of (see player.spoken), such as a
        Markdown rule `---` or a lone emoji: no engine can make a clip of it."""
        words = _NAME_PLACEHOLDER.sub(" name ", INLINE_BREAK.sub(" ", text))
        if text and not has_words(words):
            self.problem(node, f"{what} has nothing to pronounce ({_shown(text[:40])}: only punctuation, "
                               "markup or symbols); write words, or use a pause step")

    def duration(self, node: yaml.Node, what: str) -> float:
        value = self.scalar(node)
        seconds = parse_duration(value)
        if seconds is None:
            self.problem(node, f"{what} needs a duration like 45s, 2m or 1m30s, not {_shown(value)}")
            return 1.0
        if not 0 < seconds <= MAX_SECONDS:
            self.problem(node, f"{what} of {_shown(value)} is out of range: more than 0 and at most 60m")
            return 1.0
        return seconds

    def text(self, node: yaml.Node, inside_turns: bool, what: str) -> str:
        value = self.scalar(node)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.problem(node, f"{what} must be non-empty text")
            return ""
        text = " ".join(value.split())
        for match in _BRACES.finditer(text):
            token = match.group(0)
            if token not in PLACEHOLDERS:
                self.problem(node, f"unknown placeholder {token} (use {{a}}, {{b}}, {{speaker}} or {{listener}})")
            elif token in ("{speaker}", "{listener}") and not inside_turns:
                self.problem(node, f"{token} only has a meaning inside a turns step")
            elif self.mode != "couple":
                self.problem(node, f"{token} names a partner; it needs 'mode: couple'")
        for match in _BRACKET.finditer(text):
            if not INLINE_BREAK.fullmatch(match.group(0)):
                self.problem(node, f"unrecognised cue {match.group(0)}; an inline silence is written [2s] or [1.5s]")
        for match in INLINE_BREAK.finditer(text):
            if not 0 < float(match.group(1)) <= MAX_SECONDS:
                self.problem(node, f"inline silence {match.group(0)} is out of range")
        return text


def _audible(steps: tuple[Step, ...]) -> bool:
    """Whether any step makes a sound or a silence: a script of only section names plays 0:00."""
    return any(step.kind != "section" and (step.kind != "turns" or _audible(step.steps)) for step in steps)


def _shown(value: object) -> str:
    if isinstance(value, yaml.Node):
        return "a list or mapping"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        return "a number of over 30 digits"
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
