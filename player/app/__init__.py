"""The use cases: one plain function for each thing a person does with guided, under every face.

The CLI (cli.py) and the web page (web.py) are thin faces over these calls: they parse what a
person chose, call one function here, and show what it returns. Each function takes plain
arguments and a `Workspace` (where clips are kept, and how engines are made, which tests
replace), and returns a dataclass. Heavy modules (numpy, the engines, pygame, soundfile) are
imported inside the functions that need them, so `guided --help` and `guided list` start fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from player.errors import ExportError, UsageProblem
from player.limits import CORES, DEFAULT_NAMES, DEFAULT_RATE

if TYPE_CHECKING:
    from player.cache import VoicedCache
    from player.export import ExportResult
    from player.history import Play
    from player.importer import Imported
    from player.script import Session
    from player.speech import Engine, Voice, VoiceSettings
    from player.speech.render import RenderReport
    from player.timeline import Timeline, TimingOptions

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
# (total, label) -> a context yielding the progress callback: a bar on a terminal, or nothing.
ProgressFactory = Callable[[int, str], contextlib.AbstractContextManager[Progress]]


@contextlib.contextmanager
def no_progress(total: int, label: str) -> Iterator[Progress]:
    yield lambda n: None


def default_engines(name: str, state_dir: Path | None = None, threads: int | None = None) -> Engine:
    from player.speech import get_engine

    return get_engine(name, state_dir=state_dir, threads=threads)


@dataclass(frozen=True)
class Workspace:
    """Where a run keeps its clips, how it makes an engine (tests pass a fake), and where a
    calm note goes (an engine fallen back to, say)."""

    cache_dir: Path
    engines: Callable[..., Engine] = default_engines
    tell: Callable[[str], None] = lambda message: None


@dataclass(frozen=True)
class Voicing:
    """The voice a person chose; engine None: the saved preference, else the best installed."""

    engine: str | None = None
    voice: str | None = None
    rate: int = DEFAULT_RATE
    volume: float = 1.0


@dataclass(frozen=True)
class Timing:
    """How long things last and who is named, as a person chose them."""

    partner_a: str = DEFAULT_NAMES[0]
    partner_b: str = DEFAULT_NAMES[1]
    pause_scale: float = 1.0
    minutes: float | None = None
    first: str = "a"  # who begins the session's turns
    say_a: str | None = None  # how the voice says a name the engine gets wrong; shown as typed
    say_b: str | None = None

    def __post_init__(self):
        if self.minutes is not None and self.pause_scale != 1.0:
            raise UsageProblem("give --minutes or --pause-scale, not both")

    def options(self) -> TimingOptions:
        from player.names import check_spoken
        from player.timeline import TimingOptions, check_name

        return TimingOptions(partner_a=check_name(self.partner_a), partner_b=check_name(self.partner_b),
                             pause_scale=self.pause_scale, first=self.first,
                             say_a=self.say_a and check_spoken(self.say_a), say_b=self.say_b and check_spoken(self.say_b))


# ── The library ──────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class SessionInfo:
    id: str
    title: str
    summary: str
    mode: str
    minutes: float
    tags: tuple[str, ...]

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "summary": self.summary, "mode": self.mode,
                "minutes": self.minutes, "tags": list(self.tags)}


MEMO_NAME = "sessions.json"


def list_sessions(workspace: Workspace, paths: list[Path] | None = None) -> list[SessionInfo]:
    """The bundled sessions (or the scripts at `paths`), with their estimated lengths. What was
    worked out once is kept in a small memo beside the clips, keyed by each file's size and
    time, so listing needs no timeline unless a script changed."""
    from player.library import bundled_paths

    paths = bundled_paths() if paths is None else paths
    memo_path = workspace.cache_dir / MEMO_NAME
    memo = _read_memo(memo_path)
    rows, changed = [], False
    planner = _planner_version()
    for path in paths:
        stat = path.stat()
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{planner}"
        row = memo.get(key)
        if row is None:
            row, changed = _session_row(path), True
            memo[key] = row
        rows.append(SessionInfo(row["id"], row["title"], row["summary"], row["mode"], row["minutes"],
                                tuple(row["tags"])))
    if changed:
        _write_memo(memo_path, memo, keep={r.id for r in rows})
    return rows


def _planner_version() -> str:
    """Changes when the code that estimates a length changes, so the memo is then made again."""
    package = Path(__file__).resolve().parent.parent
    planners = ("script.py", "timeline.py", "importer.py", "cues.py", "spoken.py", "names.py")
    return "-".join(str((package / name).stat().st_mtime_ns) for name in planners)


def _session_row(path: Path) -> dict:
    from player.library import load_script
    from player.timeline import TimingOptions, build_timeline

    session = load_script(path).session
    minutes = build_timeline(session, TimingOptions(), DEFAULT_RATE).duration_s / 60
    return {"id": session.id, "title": session.title, "summary": session.summary, "mode": session.mode,
            "minutes": round(minutes, 1), "tags": list(session.tags)}


def _read_memo(path: Path) -> dict:
    try:
        memo = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _write_memo(path: Path, memo: dict, keep: set[str]) -> None:
    """Only a saving of time: if it cannot be written, the lengths are worked out next time."""
    from player.atomic import replacing

    current = {k: v for k, v in memo.items() if isinstance(v, dict) and v.get("id") in keep}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as temp:
            temp.write_text(json.dumps(current), encoding="utf-8")
    except OSError as exc:
        log.debug("the session memo %s was not written: %s", path, exc)


# ── Voices and clips ─────────────────────────────────────────────────────────────────────────

def engine_name(workspace: Workspace, voicing: Voicing) -> str:
    """The engine to speak with: --engine or GUIDED_ENGINE, else the saved preference, else the
    best installed (Piper with a voice, otherwise pyttsx3); a fallback is told in one line."""
    import os

    from player import config
    from player.speech import choose_engine

    from_env = os.environ.get("GUIDED_ENGINE", "").strip() or None
    choice = choose_engine(voicing.engine, from_env, None if voicing.engine or from_env else config.get("engine"))
    if choice.note:
        workspace.tell(choice.note)
    return choice.name


@contextlib.contextmanager
def voiced(workspace: Workspace, voicing: Voicing, threads: int | None = None,
           on_engine: Callable[[Engine, VoiceSettings], None] | None = None) -> Iterator[VoicedCache]:
    """The clip cache seen through the chosen engine and voice; the engine is closed after.
    `on_engine` is called with the engine before the cache key is worked out (which for Piper
    means hashing its model, and importing numpy)."""
    from player.speech import VoiceSettings

    engine = workspace.engines(engine_name(workspace, voicing), state_dir=workspace.cache_dir, threads=threads)
    settings = VoiceSettings(voicing.voice, voicing.rate, voicing.volume)
    try:
        if on_engine is not None:
            on_engine(engine, settings)
        from player.cache import ClipCache, VoicedCache

        yield VoicedCache(ClipCache(workspace.cache_dir), engine, settings)
    finally:
        engine.close()


def plan(clips: VoicedCache, session: Session, timing: Timing) -> Timeline:
    """The session's timeline, exact where its clips are cached and estimated elsewhere."""
    from player.timeline import plan as plan_timeline

    return plan_timeline(session, timing.options(), clips.settings.rate, clips.frames, timing.minutes)


def make_clips(clips: VoicedCache, sessions: list[Session], timing: Timing, jobs: int = CORES,
               progress: ProgressFactory = no_progress) -> RenderReport:
    """Make every clip the sessions still miss, in one go (workers start, and load a model,
    once), with progress shown as the face likes."""
    from player.speech.render import render_missing
    from player.timeline import FIT_MARGIN, build_timeline, fit_pause_scale

    options = timing.options()
    if timing.minutes is not None:  # a length far out of reach is refused before any clip is made
        for session in sessions:
            natural = build_timeline(session, replace(options, pause_scale=1.0), clips.settings.rate, clips.frames)
            fit_pause_scale(natural, timing.minutes, FIT_MARGIN)
    sentences = [s for session in sessions
                 for s in build_timeline(session, options, clips.settings.rate).sentences()]
    missing = len(clips.missing(sentences))
    label = f"Preparing {sessions[0].id}" if len(sessions) == 1 else f"Preparing {len(sessions)} sessions"
    with progress(missing, label) as update:
        return render_missing(clips, sentences, update, jobs)


def prepare(clips: VoicedCache, session: Session, timing: Timing, progress: ProgressFactory = no_progress,
            jobs: int = CORES) -> Timeline:
    """Make the session's missing clips, and return its exact timeline."""
    make_clips(clips, [session], timing, jobs, progress)
    return plan(clips, session, timing)


# ── One call per command ─────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Description:
    script: Imported
    timeline: Timeline


def describe(workspace: Workspace, name: str, voicing: Voicing, timing: Timing, strict: bool = False) -> Description:
    """A session's timeline as it would play now, and what its script left unspoken."""
    from player.library import find_script, load_script

    script = load_script(find_script(name), strict)
    with voiced(workspace, voicing) as clips:
        return Description(script, plan(clips, script.session, timing))


@dataclass(frozen=True)
class Checked:
    path: Path
    steps: int = 0
    problems: str | None = None  # every problem, a line each, as PATH:LINE: message


def validate(paths: list[Path], strict: bool = False) -> list[Checked]:
    """Check each script; a broken one does not stop the others from being checked."""
    from player.errors import ScriptError
    from player.library import load_script

    def check(path: Path) -> Checked:
        try:
            return Checked(path, len(load_script(path, strict).session.steps))
        except ScriptError as exc:
            return Checked(path, problems=str(exc))

    return [check(Path(p)) for p in paths]


def render(workspace: Workspace, names: list[str], voicing: Voicing, timing: Timing, jobs: int = CORES,
           progress: ProgressFactory = no_progress) -> RenderReport:
    """Make the clips that the named sessions (all bundled ones when `names` is empty) need."""
    sessions = _sessions(names)
    with voiced(workspace, voicing) as clips:
        report = make_clips(clips, sessions, timing, jobs, progress)
        if timing.minutes is not None:  # say now if a session cannot be fitted, with true lengths
            for session in sessions:
                plan(clips, session, timing)
    return report


def _sessions(names: list[str]) -> list[Session]:
    from player.library import bundled_paths, find_script, load_script

    paths = [find_script(n) for n in names] if names else bundled_paths()
    return [load_script(p).session for p in paths]


def export(workspace: Workspace, name: str, output: Path, voicing: Voicing, timing: Timing,
           captions: Path | None = None, ambience: str | None = None,
           progress: ProgressFactory = no_progress, format_: str | None = None) -> ExportResult:
    """Write one session to an audio file (and captions), with its clips made first. Its format
    is the file's suffix: a `format_` besides (--format) is a mistake, said before any work."""
    from player.library import find_script, load_script

    if format_ is not None:
        raise UsageProblem(f"--format goes with --all; one export takes its format from -o's suffix "
                           f"(e.g. -o {Path(output).with_suffix('.' + format_).name})")
    session = load_script(find_script(name)).session
    with voiced(workspace, voicing) as clips:
        return _export_one(clips, session, timing, Path(output), captions, _ambience(ambience), progress)


@dataclass(frozen=True)
class ExportedAll:
    playlist: Path
    results: list[ExportResult] = field(default_factory=list)


def export_all(workspace: Workspace, folder: Path, format_: str | None, voicing: Voicing, timing: Timing,
               captions: str | None = None, ambience: str | None = None, progress: ProgressFactory = no_progress,
               on_each: Callable[[ExportResult], None] = lambda result: None) -> ExportedAll:
    """Every bundled session into `folder` (made if need be) as `format_`, with captions
    (`vtt` or `srt`) if asked, and a playlist."""
    from player.export import write_playlist
    from player.library import bundled_paths, load_script

    if captions is not None and captions not in ("vtt", "srt"):
        raise UsageProblem("with --all, give the captions' format: vtt or srt")
    format_ = format_ or "mp3"
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file; give a folder for --all")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot make the folder {folder}: {exc.strerror}") from None
    bed = _ambience(ambience)
    results, entries = [], []
    with voiced(workspace, voicing) as clips:
        for path in bundled_paths():
            session = load_script(path).session
            caption_file = folder / f"{path.stem}.{captions}" if captions else None
            result = _export_one(clips, session, timing, folder / f"{path.stem}.{format_}", caption_file, bed,
                                 progress)
            on_each(result)
            results.append(result)
            entries.append((result.path, session.title, result.duration_s))
    return ExportedAll(write_playlist(folder, entries), results)


def _ambience(what: str | None):
    from player.ambience import ambience_loop

    return ambience_loop(what) if what else None


def _export_one(clips, session, timing: Timing, output: Path, captions: Path | None, bed, progress):
    from player.ambience import Ambience
    from player.export import check_captions_target, check_target, export_session

    check_target(output)
    if captions is not None:
        check_captions_target(Path(captions))
    timeline = prepare(clips, session, timing, progress)
    ambience = Ambience(bed, timeline.length) if bed is not None else None
    with progress(timeline.length, f"Exporting {session.id}") as update:
        return export_session(timeline, clips, output, update, captions, ambience)


# ── Playing ──────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class PlayStart:
    """What a face shows as a play begins."""

    title: str
    duration_s: float
    estimated: bool
    step_count: int
    start_step: int


@dataclass(frozen=True)
class PlayResult:
    session_id: str
    step_count: int
    stopped_at: int | None  # None: played to the end


def play(workspace: Workspace, name: str, voicing: Voicing, timing: Timing, *, start: str | None = None,
         resume: bool = False, remember_names: bool = False, audio_driver: str | None = None,
         ambience: str | None = None, interactive: bool = False,
         on_start: Callable[[PlayStart], None] = lambda start: None,
         warn: Callable[[str], None] = lambda message: None) -> PlayResult:
    """Play a session through the sound device, recorded in the practice history.

    The order matters: what can be refused (the script, --from, nothing to resume, no sound
    device) is refused before anything is recorded; with --minutes every clip is made first
    (the fit needs true lengths), otherwise sound starts once the opening sentence is spoken
    and the rest is made while it plays."""
    from player.ambience import Ambience
    from player.history import History, open_to_resume, recording, resume_step, script_hash
    from player.library import find_script, load_script
    from player.playback import open_mixer, play_timeline
    from player.prefetch import end_early_worker, start_ahead, start_worker_if_cold, start_worker_if_first_run
    from player.signals import stop_signals
    from player.timeline import find_start

    if start and resume:
        raise UsageProblem("give --from or --resume, not both")
    session = load_script(find_script(name)).session
    bed = _ambience(ambience)
    hash_ = script_hash(session.path)
    first_run = None if timing.minutes is not None else start_worker_if_first_run(workspace.cache_dir)
    with voiced(workspace, voicing, on_engine=first_run) as clips:
        timeline = prepare(clips, session, timing) if timing.minutes is not None else plan(clips, session, timing)
        start_step = find_start(timeline, start) if start else 1
        history = None
        try:
            # A cold start: a Piper worker loads its model while the history and device open.
            start_worker_if_cold(clips, timeline, start_step)
            if resume:  # nothing to resume: say so before the device is opened
                history = open_to_resume(session.id)
                start_step = resume_step(history, session.id, hash_, timeline.step_count, warn)
            mixer = open_mixer(session.id, audio_driver)  # no device: say so before anything is recorded
            if history is None:
                history = History.open_or_warn(warn)
            on_start(PlayStart(session.title, timeline.duration_s, timeline.estimated, timeline.step_count,
                               start_step))
            names = (timing.partner_a, timing.partner_b) if remember_names and session.mode == "couple" else None
            with stop_signals():  # INT, TERM (even twice) and HUP all end with the row saved as stopped
                ahead = start_ahead(clips, timeline, start_step)
                try:
                    with recording(history, session.id, session.title, hash_, timeline.step_count, names,
                                   warn) as record:
                        stopped_at = play_timeline(timeline, clips, mixer, interactive=interactive,
                                                   start_step=start_step, on_step=record.progress, ahead=ahead,
                                                   ambience=Ambience(bed, timeline.length) if bed is not None else None)
                        record.completed = stopped_at is None
                finally:
                    ahead.stop()
        finally:
            end_early_worker()
            if history is not None:
                history.close()
    return PlayResult(session.id, timeline.step_count, stopped_at)


# ── History, scripts, voices, cache ──────────────────────────────────────────────────────────

@dataclass(frozen=True)
class HistoryReport:
    plays: list[Play]
    summary: dict
    calendar: list[str]

    def to_json(self) -> dict:
        return {"plays": [p.to_json() for p in self.plays], "summary": self.summary}


def history(limit: int = 10) -> HistoryReport:
    """The latest plays, the summary (completed, minutes this week, streak), a 12-week calendar."""
    from player.history import History, calendar_lines

    store = History(read_only=True)  # reading needs no write access (a read-only mount, a full disk)
    try:
        plays, summary = store.recent(limit), store.summary()
    finally:
        store.close()
    return HistoryReport(plays, summary, calendar_lines(summary))


def convert(source: Path, output: Path) -> Path:
    """A text or Markdown script written out as the equivalent YAML script."""
    from player.export import check_target, write_text
    from player.importer import to_yaml
    from player.library import TEXT_SUFFIXES, load_script

    source, output = Path(source), Path(output)
    if source.suffix.lower() not in TEXT_SUFFIXES:
        raise UsageProblem(f"convert reads text or Markdown scripts ({', '.join(TEXT_SUFFIXES)})")
    check_target(output, kinds=(".yaml", ".yml"), what="convert")
    write_text(output, to_yaml(load_script(source), source))
    return output


def new_script(name: str, couple: bool = False, markdown: bool = False) -> Path:
    """A commented starter script that plays as it is; never over an existing file."""
    from player.export import check_target, write_text
    from player.library import TEXT_SUFFIXES
    from player.starter import starter

    path = Path(name)
    if not path.suffix:
        path = path.with_suffix(".md" if markdown else ".yaml")
    if path.exists():
        raise ExportError(f"{path} already exists; choose another name")
    check_target(path, kinds=(path.suffix.lower(),), what="write a script")
    title = re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or "My session"
    write_text(path, starter(title, couple, markdown or path.suffix.lower() in TEXT_SUFFIXES, path.name))
    return path


@dataclass(frozen=True)
class VoiceList:
    """An engine's voices; `default_voice` is the one used when no --voice is given, and
    `is_default_engine` says whether this engine is the one used when no --engine is given."""

    engine: str
    is_default_engine: bool
    voices: list[Voice]
    default_voice: str | None

    def default(self, voice: Voice) -> bool:
        """True for the voice heard with no options at all."""
        return self.is_default_engine and voice.id == self.default_voice

    def to_json(self) -> list[dict]:
        return [{"id": v.id, "name": v.name, "languages": list(v.languages), "engine": self.engine,
                 "default": self.default(v)} for v in self.voices]


def voices(workspace: Workspace, engine: str | None = None) -> VoiceList:
    """The voices of `engine` (None: the engine used by default), the default one marked."""
    quiet = Workspace(workspace.cache_dir, workspace.engines)  # the default's own note is told once, below
    default_engine = engine_name(quiet, Voicing())
    name = engine or engine_name(workspace, Voicing())
    speech = workspace.engines(name, state_dir=workspace.cache_dir)
    try:
        found = speech.voices()
        default_voice = speech.resolve_voice(None) if found else None
        return VoiceList(name, name == default_engine, found, default_voice)
    finally:
        speech.close()


def voice_sample(workspace: Workspace, voicing: Voicing, text: str, output: Path | None = None,
                 audio_driver: str | None = None) -> Path | None:
    """Speak `text` in the chosen voice, to choose one by ear: played through the sound device,
    or written to `output` (a .wav file). Returns what was written, if anything."""
    from player.export import check_target
    from player.speech import VoiceSettings
    from player.speech.clips import make_clip

    text = " ".join(text.split())
    if not text:
        raise UsageProblem("--sample needs some text to speak")
    if len(text) > 400:
        raise UsageProblem(f"--sample speaks up to 400 characters, not {len(text)}: a short sample is enough")
    if output is not None:
        check_target(Path(output), kinds=(".wav",), what="write a sample")
    engine = workspace.engines(engine_name(workspace, voicing), state_dir=workspace.cache_dir)
    try:
        settings = VoiceSettings(voicing.voice, voicing.rate, voicing.volume)
        samples = make_clip(engine, text, settings, engine.resolve_voice(settings.voice))
    finally:
        engine.close()
    if output is None:
        from player.errors import AudioDeviceError
        from player.playback import open_mixer, play_samples

        try:
            mixer = open_mixer("sample", audio_driver)
        except AudioDeviceError as exc:
            raise AudioDeviceError(f"{str(exc).split(';')[0]}; write the sample to a file instead: -o sample.wav") from None
        play_samples(mixer, samples)
        return None
    _write_wav(Path(output), samples)
    return Path(output)


def _write_wav(path: Path, samples) -> None:
    from player.atomic import replacing, write_failure
    from player.wavfile import write_clip

    try:
        with replacing(path) as temp, open(temp, "wb") as f:
            write_clip(f, samples)
    except OSError as exc:
        raise ExportError(write_failure(exc, path)) from None


def configure(action: str, key: str | None = None, value: str | None = None) -> list[str]:
    """`guided config`: list, get, set or unset a saved preference; the lines to show."""
    from player import config

    wanted = {"list": 0, "get": 1, "unset": 1, "set": 2}[action]
    given = [x for x in (key, value) if x is not None]
    if len(given) != wanted:
        usage = {0: "guided config list", 1: f"guided config {action} KEY", 2: "guided config set KEY VALUE"}[wanted]
        raise UsageProblem(f"{action} takes {wanted or 'no'} argument{'s' if wanted != 1 else ''}: {usage} "
                           f"(settings: {', '.join(config.SETTINGS)})")
    if action == "list":
        saved = config.load()
        return [f"{k} = {v}" for k, v in saved.items()] or [f"Nothing saved ({config.config_path()})."]
    if action == "get":
        found = config.get(key)
        return [found if found is not None else f"{key} is not set"]
    if action == "set":
        return [f"{key} = {config.set_value(key, value)} (saved in {config.config_path()})"]
    return [f"Forgot {key}." if config.unset(key) else f"{key} was not set."]


def cache_info(workspace: Workspace) -> dict:
    from player.cache import ClipCache

    return ClipCache(workspace.cache_dir).info()


def cache_clear(workspace: Workspace) -> int:
    from player.cache import ClipCache

    return ClipCache(workspace.cache_dir).clear()
