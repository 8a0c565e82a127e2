"""Stage 1: read a session script (YAML, format v1), validate it, and return a `Session`.

Validation collects every problem with the line it is on, so an author sees them all at once.
Nothing here runs user data through `str.format` or YAML tags: only plain safe scalars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor

from player.errors import BadName, Problem, ScriptError

MAX_SCRIPT_BYTES = 1_000_000
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
    "turns": ("steps",),
}
COUPLE_ONLY = ("talk", "turns")

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
INLINE_BREAK = re.compile(r"\[(\d+(?:\.\d+)?)s\]")
_BRACKET = re.compile(r"\[[^\[\]]*\]")
_BRACES = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Step:
    """One step of a script. `text` is the spoken text, prompt or section name."""

    kind: str
    line: int
    text: str = ""
    seconds: float = 0.0
    closing: bool = False
    order: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()


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
        return float(value)
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
    text = _read_text(path)
    root = _compose(path, text)
    checker = _Checker()
    session = checker.session(root, path)
    if checker.problems:
        raise ScriptError(str(path), checker.problems)
    return session


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptError(str(path), [Problem(1, f"cannot read the file: {exc.strerror}")]) from None
    if len(data) > MAX_SCRIPT_BYTES:
        raise ScriptError(
            str(path), [Problem(1, f"file is {len(data):,} bytes; scripts are limited to 1 MB")]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScriptError(str(path), [Problem(line, "not UTF-8 text; save the file as UTF-8")]) from None


def _compose(path: Path, text: str) -> yaml.Node:
    """Parse YAML into a node tree (lines kept), refusing anchors and aliases."""
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
    if root is None:
        raise ScriptError(str(path), [Problem(1, "the file is empty; a script needs title, summary and steps")])
    return root


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
        except yaml.YAMLError:
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
        return Session(path.stem, path, title, summary, self.mode, tags, steps, pronounce)

    def pronounce(self, node: yaml.Node | None) -> tuple[tuple[str, str], ...]:
        """`pronounce: {Siobhan: shiv-awn}`: a name, and how the voice should say it."""
        from player.names import check_spoken

        if node is None:
            return ()
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "pronounce must map names to how they are said, e.g. {Siobhan: shiv-awn}")
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
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, "tags must be a list of words, e.g. [couple, listening]")
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

    def timed_with_prompt(self, kind, node, value, extras, inside_turns):
        seconds = self.duration(value, kind)
        prompt = ""
        if "prompt" in extras:
            prompt = self.text(extras["prompt"], inside_turns, what="prompt")
        return Step(kind, _line(node), text=prompt, seconds=seconds)

    def step_wait(self, node, value, extras, inside_turns):
        text = self.text(value, inside_turns, what="wait text")
        fallback = DEFAULT_WAIT_FALLBACK
        if "fallback" in extras:
            fallback = self.duration(extras["fallback"], "fallback")
        return Step("wait", _line(node), text=text, seconds=fallback)

    def step_turns(self, node, value, extras, inside_turns):
        order = ()
        if isinstance(value, yaml.SequenceNode):
            order = tuple(self.scalar(item) for item in value.value)
        if sorted(order, key=str) != ["a", "b"]:
            self.problem(value, "turns takes [a, b] or [b, a]: who speaks first")
            order = ("a", "b")
        steps: tuple[Step, ...] = ()
        if "steps" not in extras:
            self.problem(node, "turns needs 'steps': the steps each partner takes in turn")
        else:
            steps = self.step_list(extras["steps"], inside_turns=True)
        return Step("turns", _line(node), order=order, steps=steps)

    # -- values

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


def _shown(value: object) -> str:
    if isinstance(value, yaml.Node):
        return "a list or mapping"
    return repr(value)
