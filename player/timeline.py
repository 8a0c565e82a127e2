"""Stage 2: turn a Session into a Timeline: every sound and silence, in order, timed to the sample.

The clock runs in samples at SAMPLE_RATE so start times never drift, however long the session.
Speech lengths come from the clip cache when the clips exist (exact) and are estimated from
words and rate otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from player.errors import BadName, FitError, StartNotFound
from player.limits import DEFAULT_NAMES, MAX_NAME, PAUSE_SCALE_RANGE, SAMPLE_RATE
from player.script import INLINE_BREAK, Session, Step
from player.spoken import NAME_MARKS, spoken_text

SENTENCE_GAP_S = 0.4  # between sentences of one passage: a breath
PASSAGE_TAIL_S = 0.6  # after a spoken passage, before whatever comes next
BELL_S = {"soft": 4.0, "end": 7.0}  # a bell event lasts until its sound has died away
CUE_S = 2.0  # the soft cue inside a long talk silence
TALK_CUE_BEFORE_END_S = 60.0
MAX_SENTENCE_CHARS = 400  # longer sentences are split at commas, then words
PARTNERS = ("a", "b")
# Said by the player before a turn in a `turns` step with `announce: true`: the roles in full the
# first time in a section, then only the name, so a long session does not repeat itself.
ROLES_IN_FULL = "{speaker}, it is your turn to speak. [1s] {listener}, your part is to listen."
HANDOFF = "Now, {speaker}."

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_PLACEHOLDER = re.compile(r"\{(a|b|speaker|listener)\}")


def seconds_to_samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


def check_name(name: str) -> str:
    """A partner name: 1–40 printable characters. Raises BadName with the reason."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise BadName(f"a name is 1 to {MAX_NAME} characters, not {len(name)}")
    if not name.isprintable():
        raise BadName("a name may only hold printable characters")
    if not any(c.isalpha() for c in name):  # "...", "—" or emoji alone: nothing to pronounce
        raise BadName("a name needs a letter")
    return name


@dataclass(frozen=True)
class TimingOptions:
    partner_a: str = DEFAULT_NAMES[0]
    partner_b: str = DEFAULT_NAMES[1]
    pause_scale: float = 1.0
    first: str = "a"  # who begins the session's first turns block; "b" swaps every block's order
    say_a: str | None = None  # how the voice says partner A's name (--say-a); shown: partner_a
    say_b: str | None = None


@dataclass(frozen=True)
class Event:
    """One sound or silence. `start` and `length` are in samples; cues are offsets in samples."""

    step: int
    kind: str  # section | say | silence | bell
    section: str | None
    start: int
    length: int
    text: str = ""
    purpose: str | None = None
    cues: tuple[int, ...] = ()
    sentences: tuple[str, ...] = ()  # what the voice says (clip keys): names as pronounced
    captions: tuple[str, ...] = ()  # the same sentences as shown: names as typed
    bell: str | None = None
    speaker: str | None = None  # inside turns: who speaks ("a" or "b"), and who listens
    listener: str | None = None
    speaker_name: str | None = None
    listener_name: str | None = None
    line: int = 0  # the script line of the step it comes from

    @property
    def start_s(self) -> float:
        return self.start / SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.length / SAMPLE_RATE

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Timeline:
    session: Session
    events: tuple[Event, ...]
    step_count: int
    estimated: bool

    @property
    def length(self) -> int:
        return self.events[-1].end if self.events else 0

    @property
    def duration_s(self) -> float:
        return self.length / SAMPLE_RATE

    def sentences(self) -> list[str]:
        """Every distinct sentence to synthesize, in first-spoken order."""
        seen: dict[str, None] = {}
        for event in self.events:
            for sentence in event.sentences:
                seen.setdefault(sentence)
        return list(seen)

    def to_json(self) -> dict:
        return {
            "id": self.session.id,
            "title": self.session.title,
            "mode": self.session.mode,
            "duration_s": round(self.duration_s, 3),
            "estimated": self.estimated,
            "events": [
                {
                    "step": e.step,
                    "kind": e.kind,
                    "purpose": e.purpose,
                    "section": e.section,
                    "start_s": round(e.start_s, 3),
                    "duration_s": round(e.duration_s, 3),
                    "text": e.text,
                    "cues": [round(c / SAMPLE_RATE, 3) for c in e.cues],
                    "speaker": e.speaker,
                    "listener": e.listener,
                }
                for e in self.events
            ],
        }


def split_sentences(text: str) -> list[str]:
    """Split a passage into sentences, as the voice will receive them (`spoken_text`: the words
    only; a sentence with nothing to pronounce is dropped); over-long ones are cut between words
    into pieces of at most MAX_SENTENCE_CHARS, which the engine handles reliably."""
    sentences = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = spoken_text(sentence)
        if sentence:
            sentences.extend(_cut_long(sentence))
    return sentences


def _cut_long(sentence: str) -> list[str]:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for word in sentence.split():
        if current and len(current) + 1 + len(word) > MAX_SENTENCE_CHARS:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


# Fitted to espeak-ng's trimmed clips of the bundled sessions at 150 wpm (median error 9% a
# sentence, under 2% over a session): seconds per word and per comma-like pause, at that rate.
_WORD_S_AT_150 = 0.278
_PAUSE_S_AT_150 = 0.37
_SENTENCE_S = 0.2


def estimate_samples(sentence: str, rate: int) -> int:
    """Spoken length of a sentence from its words and the rate (words per minute)."""
    words = len(sentence.split())
    pauses = len(re.findall(r"[,;:—–]", sentence))
    per_rate = 150 / rate
    return seconds_to_samples((words * _WORD_S_AT_150 + pauses * _PAUSE_S_AT_150) * per_rate + _SENTENCE_S)


def fill_names(text: str, names: dict[str, str]) -> str:
    """Literal, single-pass placeholder replacement: a name is never itself interpreted."""
    return _PLACEHOLDER.sub(lambda m: names[m.group(1)], text)


@dataclass(frozen=True)
class PlayStep:
    """A script step as it is played: turns expanded, names filled in, numbered in play order.
    Inside turns, `speaker` and `listener` are "a" or "b"; in a respond step the listener of the
    turn is the one speaking, so they are swapped there, while `roles` keeps the turn's names."""

    number: int
    step: Step
    roles: dict[str, str]
    section: str | None
    speaker: str | None = None
    listener: str | None = None

    @property
    def text(self) -> str:
        return fill_names(self.step.text, self.roles)


def other(partner: str) -> str:
    return "b" if partner == "a" else "a"


def turn_orders(session: Session, first: str = "a") -> list[tuple[str, str]]:
    """Who begins and who follows in each top-level turns block, in playing order.
    `alternate` blocks swap among themselves, starting from `first`; written orders are kept
    when `first` is "a" and mirrored when it is "b", so `--first b` hands every start to B."""
    orders = []
    alternating = 0
    for step in session.steps:
        if step.kind != "turns":
            continue
        if step.order:
            begins = step.order[0] if first == "a" else other(step.order[0])
        else:
            begins = first if alternating % 2 == 0 else other(first)
            alternating += 1
        orders.append((begins, other(begins)))
    return orders


def play_steps(session: Session, options: TimingOptions) -> list[PlayStep]:
    names = {"a": options.partner_a, "b": options.partner_b}
    orders = iter(turn_orders(session, options.first))
    out: list[PlayStep] = []
    section: str | None = None
    sections_seen = 0
    roles_told_in: int | None = None  # the section in which the roles were last said in full

    def add(step: Step, roles: dict[str, str], speaker: str | None = None, listener: str | None = None) -> None:
        nonlocal section, sections_seen
        if step.kind == "section":
            section = fill_names(step.text, roles)
            sections_seen += 1
        out.append(PlayStep(len(out) + 1, step, roles, section, speaker, listener))

    for step in session.steps:
        if step.kind != "turns":
            add(step, names)
            continue
        first, second = next(orders)
        for speaker, listener in ((first, second), (second, first)):
            roles = {**names, "speaker": names[speaker], "listener": names[listener]}
            if step.announce:
                said = ROLES_IN_FULL if roles_told_in != sections_seen else HANDOFF
                roles_told_in = sections_seen
                add(Step("say", step.line, text=said), roles, speaker, listener)
            for inner in step.steps:
                if inner.kind == "respond":
                    add(inner, roles, listener, speaker)
                else:
                    add(inner, roles, speaker, listener)
    return out


def build_timeline(
    session: Session,
    options: TimingOptions,
    rate: int,
    clip_samples: Callable[[str], int | None] = lambda sentence: None,
) -> Timeline:
    """Plan every event. `clip_samples(sentence)` gives a cached clip's length, or None."""
    estimated = False

    def sentence_length(sentence: str) -> int:
        nonlocal estimated
        known = clip_samples(sentence)
        if known is None:
            estimated = True
            return estimate_samples(sentence, rate)
        return known

    events: list[Event] = []
    clock = 0

    def emit(**fields) -> None:
        nonlocal clock
        event = Event(start=clock, **fields)
        events.append(event)
        clock = event.end

    names = {"a": options.partner_a, "b": options.partner_b, None: None}
    steps = play_steps(session, options)
    say = _name_for_the_ear(session, options)
    for play in steps:
        roles = {"speaker": play.speaker, "listener": play.listener,
                 "speaker_name": names[play.speaker], "listener_name": names[play.listener]}
        for fields in _step_events(play, options.pause_scale, sentence_length, say):
            emit(step=play.number, section=play.section, line=play.step.line, **roles, **fields)
    return Timeline(session, tuple(events), len(steps), estimated)


def _name_for_the_ear(session: Session, options: TimingOptions) -> Callable[[str], str]:
    """Name as typed -> as the voice says it (see player.names)."""
    from player.names import spoken_name

    pronounce = dict(session.pronounce)
    overrides = {options.partner_a: options.say_a, options.partner_b: options.say_b}
    return lambda name: spoken_name(name, overrides.get(name), pronounce)


def _step_events(play: PlayStep, scale: float, sentence_length, say=lambda name: name) -> Iterator[dict]:
    step, roles = play.step, play.roles
    kind = step.kind
    if kind == "section":
        yield {"kind": "section", "length": 0, "text": play.section}
    elif kind == "say":
        yield from _spoken(step.text, roles, scale, sentence_length, say)
    elif kind == "pause":
        yield _silence("pause", step.seconds * scale)
    elif kind == "bell":
        yield _bell("end" if step.closing else "soft")
    elif kind in ("reflect", "talk"):
        if step.text:
            yield from _spoken(step.text, roles, scale, sentence_length, say)
        yield _bell("soft")
        seconds = step.seconds * scale
        cues = ()
        if kind == "talk" and seconds >= 2 * TALK_CUE_BEFORE_END_S:
            cues = (seconds_to_samples(seconds - TALK_CUE_BEFORE_END_S),)
        yield _silence(kind, seconds, cues)
        yield _bell("soft")
    elif kind == "respond":
        yield from _spoken(step.text, roles, scale, sentence_length, say)
        yield _silence("respond", step.seconds * scale)
        yield _bell("soft")
    elif kind == "wait":
        yield from _spoken(step.text, roles, scale, sentence_length, say)
        yield _silence("wait", step.seconds * scale)


def first_event_of_step(events: tuple[Event, ...], step: int) -> int:
    """The index of the first event of `step` (or of the next step there is)."""
    return next((i for i, e in enumerate(events) if e.step >= step), len(events))


def passage_length(sentence_lengths: list[int]) -> int:
    """A spoken passage's samples: its sentences, a breath between each, and the tail after."""
    gaps = seconds_to_samples(SENTENCE_GAP_S) * (len(sentence_lengths) - 1)
    return sum(sentence_lengths) + gaps + seconds_to_samples(PASSAGE_TAIL_S)


def _silence(purpose: str, seconds: float, cues: tuple[int, ...] = ()) -> dict:
    return {"kind": "silence", "purpose": purpose, "length": seconds_to_samples(seconds), "cues": cues}


def _bell(which: str) -> dict:
    return {"kind": "bell", "bell": which, "length": seconds_to_samples(BELL_S[which])}


def _spoken(text: str, roles: dict[str, str], scale: float, sentence_length, say=lambda name: name) -> Iterator[dict]:
    """A say text: passages between inline breaks become say events, breaks become silences.
    Breaks are found in the script's own text before names go in, so a name is only ever spoken.
    Names go in twice: as typed for the screen and captions, as `say` gives them for the voice,
    sentence by sentence from one split, so the two always pair up."""
    position = 0
    for match in [*INLINE_BREAK.finditer(text), None]:
        template = text[position : match.start() if match else len(text)].strip()
        marked = split_sentences(_PLACEHOLDER.sub(lambda m: f"{_NAME_MARK[0]}{m.group(1)}{_NAME_MARK[1]}", template))
        if marked:  # a passage with nothing to pronounce (a stray "---") is never a say
            shown = tuple(_put_names(s, roles) for s in marked)
            said = {role: spoken_text(say(name)) or say(name) for role, name in roles.items()}
            sentences = tuple(_put_names(s, said) for s in marked)
            length = passage_length([sentence_length(s) for s in sentences])
            yield {"kind": "say", "text": fill_names(template, roles), "sentences": sentences, "captions": shown,
                   "length": length}
        if match:
            yield _silence("break", float(match.group(1)) * scale)
            position = match.end()


# Where a name goes while a passage is split into sentences: characters no script holds (a
# private-use pair around the role), so a name's own dots or capitals cannot move a sentence end.
_NAME_MARK = NAME_MARKS
_MARKED = re.compile(f"{NAME_MARKS[0]}(a|b|speaker|listener){NAME_MARKS[1]}")


def _put_names(sentence: str, names: dict[str, str]) -> str:
    return _MARKED.sub(lambda m: names[m.group(1)], sentence)


FIT_MARGIN = 0.15  # an estimated timeline's speech may be this much longer or shorter than the truth


def fit_pause_scale(timeline: Timeline, minutes: float, margin: float = 0.0) -> float:
    """The pause scale that makes `timeline` (planned at pause scale 1) last `minutes`.
    Speech and bells keep their length; only timed silences stretch or shrink. With `margin`
    (an estimated timeline, before its clips are made) only a length out of reach even if the
    speech were that much shorter or longer is refused."""
    silences = sum(e.length for e in timeline.events if e.kind == "silence")
    fixed = timeline.length - silences
    low, high = PAUSE_SCALE_RANGE
    shortest = (fixed + low * silences) / SAMPLE_RATE / 60
    longest = (fixed + high * silences) / SAMPLE_RATE / 60
    reach = (shortest - margin * fixed / SAMPLE_RATE / 60, longest + margin * fixed / SAMPLE_RATE / 60)
    if not reach[0] <= minutes <= reach[1]:
        raise FitError(
            f"{timeline.session.id} cannot last {minutes:g} minutes: with its speech unchanged it "
            f"can last from {'about ' if margin else ''}{shortest:.1f} to {longest:.1f} minutes"
        )
    return (minutes * 60 * SAMPLE_RATE - fixed) / silences if silences else 1.0


def find_start(timeline: Timeline, where: str) -> int:
    """The step to start from: a step number, or a section's name (any case)."""
    if where.strip().isdigit():
        step = int(where)
        if not 1 <= step <= timeline.step_count:
            raise StartNotFound(f"--from: there is no step {step}: {timeline.session.id} has {timeline.step_count} steps")
        return step
    sections = [e for e in timeline.events if e.kind == "section"]
    for event in sections:
        if event.text.lower() == where.strip().lower():
            return event.step
    names = ", ".join(dict.fromkeys(e.text for e in sections)) or "none"
    raise StartNotFound(f"--from: no step or section '{where}' in {timeline.session.id} (sections: {names})")


def plan(session: Session, timing: TimingOptions, rate: int, frames: Callable[[str], int | None] | None = None,
         minutes: float | None = None) -> Timeline:
    """The timeline with each clip's exact length where `frames(sentence)` knows it (the cache),
    estimated elsewhere; with `minutes`, its silences scaled so that it lasts that long."""
    frames = frames or (lambda sentence: None)
    if minutes is not None:
        natural = build_timeline(session, replace(timing, pause_scale=1.0), rate, frames)
        timing = replace(timing, pause_scale=fit_pause_scale(natural, minutes))
    return build_timeline(session, timing, rate, frames)
