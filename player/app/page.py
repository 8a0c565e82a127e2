"""The web page's use cases (`guided serve`), beside the CLI's in player.app: the scripts the page
offers, a session rendered whole to one file it can seek in, the timeline as the page reads it,
and its plays in the history."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from player.app import (
    ProgressFactory,
    SessionInfo,
    Timing,
    Voicing,
    Workspace,
    list_sessions,
    no_progress,
    prepare,
    voiced,
)
from player.errors import ExportError, UsageProblem

if TYPE_CHECKING:
    from player.cache import VoicedCache
    from player.timeline import Timeline

PAGE_AUDIO_DIR = "page-audio"  # beside the clips; three letters or more, so never taken for a clip folder
KEEP_PAGE_AUDIO = 6  # rendered sessions kept for a warm second play; older ones are removed
PAGE_SOUND_VERSION = 1  # raise when the sound of a timeline changes (bells, fades), to render again


@dataclass(frozen=True)
class Offered:
    """A session the page offers: what the library shows, and the file it comes from."""

    info: SessionInfo  # its id is unique among those offered
    path: Path
    session_id: str  # the script's own id, as the history knows it


def offered_sessions(workspace: Workspace, named: list[Path]) -> list[Offered]:
    """The bundled sessions and the scripts named (a folder: every script in it), each under a
    unique id. A path that is not a script is refused here, before the server starts."""
    from player.library import SCRIPT_SUFFIXES, bundled_paths

    paths = []
    for item in map(Path, named):
        if item.is_dir():
            paths += sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in SCRIPT_SUFFIXES)
        elif item.is_file() and item.suffix.lower() in SCRIPT_SUFFIXES:
            paths.append(item)
        else:
            raise UsageProblem(f"{item} is not a script or a folder of scripts ({', '.join(SCRIPT_SUFFIXES)})")
    paths = bundled_paths() + paths
    offered, seen = [], set()
    for info, path in zip(list_sessions(workspace, paths), paths):
        unique, n = info.id, 1
        while unique in seen:
            n += 1
            unique = f"{info.id}-{n}"
        seen.add(unique)
        offered.append(Offered(SessionInfo(unique, info.title, info.summary, info.mode, info.minutes, info.tags),
                               path, info.id))
    return offered


@dataclass(frozen=True)
class PageSound:
    """A session rendered whole for the page: the WAV (named by `key`) and its timeline."""

    key: str
    path: Path
    timeline: Timeline
    timing: Timing

    def to_json(self) -> dict:
        return page_timeline(self.timeline, self.timing)


def page_sound(workspace: Workspace, path: Path, voicing: Voicing, timing: Timing,
               progress: ProgressFactory = no_progress) -> PageSound:
    """Make the session's clips, then its whole sound as one WAV (the export's renderer, so the
    page hears what `export` writes, to the sample), named by a hash of the timeline and the
    voice: the same session with the same names is rendered once and then served at once."""
    from player.library import load_script

    session = load_script(path).session
    folder = workspace.cache_dir / PAGE_AUDIO_DIR
    with voiced(workspace, voicing) as clips:
        timeline = prepare(clips, session, timing, progress)
        key = _sound_key(clips, timeline)
        target = folder / f"{key}.wav"
        if target.is_file():
            target.touch()  # recently used: kept when older renders are removed
        else:
            _render_page_sound(clips, timeline, target, progress)
            _remove_old_sounds(folder, keep=KEEP_PAGE_AUDIO)
    return PageSound(key, target, timeline, timing)


def _sound_key(clips: VoicedCache, timeline: Timeline) -> str:
    import hashlib

    from player import __version__

    events = [[e.kind, e.start, e.length, list(e.sentences), e.bell, list(e.cues)] for e in timeline.events]
    identity = clips.engine.cache_identity(clips.settings)
    blob = json.dumps([PAGE_SOUND_VERSION, __version__, identity, events], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _render_page_sound(clips: VoicedCache, timeline: Timeline, target: Path, progress: ProgressFactory) -> None:
    from player.export import export_session

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot make the folder {target.parent}: {exc.strerror}") from None
    with progress(timeline.length, f"Sound for {timeline.session.id}") as update:
        export_session(timeline, clips, target, update)


def _remove_old_sounds(folder: Path, keep: int) -> None:
    """Only a saving of space: a file another process still serves is left to the next time."""
    sounds = sorted(folder.glob("*.wav"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in sounds[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


def page_timeline(timeline: Timeline, timing: Timing) -> dict:
    """The timeline as the page reads it: each event's start and end in seconds (from samples,
    so the page's clock and the WAV agree), who speaks and who listens at every step of a
    turn, and a chapter per section."""
    from player.limits import SAMPLE_RATE

    # The event's own names: in a respond step the listener is the one who speaks.
    events = [{"step": e.step, "kind": e.kind, "purpose": e.purpose, "section": e.section,
               "start": e.start / SAMPLE_RATE, "end": e.end / SAMPLE_RATE, "text": e.text,
               "speaker": e.speaker_name, "listener": e.listener_name}
              for e in timeline.events]
    chapters = [{"title": e.text, "start": e.start / SAMPLE_RATE} for e in timeline.events if e.kind == "section"]
    return {"id": timeline.session.id, "title": timeline.session.title, "mode": timeline.session.mode,
            "duration": timeline.length / SAMPLE_RATE, "step_count": timeline.step_count,
            "events": events, "chapters": chapters}


def start_page_play(sound: PageSound, remember_names: bool = False,
                    warn: Callable[[str], None] = lambda message: None) -> int | None:
    """A play from the page, in the same history as `guided play` (names only if asked);
    None when the history cannot be used: the page plays on without recording."""
    from player.errors import HistoryUnavailable
    from player.history import History, script_hash

    session, timing = sound.timeline.session, sound.timing
    names = (timing.partner_a, timing.partner_b) if remember_names and session.mode == "couple" else None
    history = History.open_or_warn(warn)
    if history is None:
        return None
    try:
        return history.start(session.id, session.title, script_hash(session.path), sound.timeline.step_count,
                             names)
    except HistoryUnavailable as exc:
        warn(str(exc))
        return None
    finally:
        history.close()


def note_page_play(play_id: int, step: int, seconds: float, status: str | None = None,
                   warn: Callable[[str], None] = lambda message: None) -> None:
    """Where a play from the page has got to; with `status` (completed, stopped) it ends."""
    from player.errors import HistoryUnavailable
    from player.history import History

    history = History.open_or_warn(warn)
    if history is None:
        return
    try:
        if status is None:
            history.progress(play_id, step, seconds)
        else:
            history.finish(play_id, status, step, seconds)
    except HistoryUnavailable as exc:
        warn(str(exc))
    finally:
        history.close()


def page_resume_steps(offered: list[Offered]) -> dict[str, int | None]:
    """For each session offered (by its id on the page), the step where its latest stopped play
    stopped, for the page to offer (None: nothing to resume). The history is opened once, for
    reading only; when it cannot be read, there is nothing to offer."""
    from player.errors import HistoryUnavailable
    from player.history import History

    steps: dict[str, int | None] = {o.info.id: None for o in offered}
    try:
        history = History(read_only=True)
    except HistoryUnavailable:
        return steps
    try:
        for item in offered:
            last = history.latest_stopped(item.session_id)
            if last is not None and last.last_step > 1:
                steps[item.info.id] = last.last_step
    except HistoryUnavailable:
        return {o.info.id: None for o in offered}
    finally:
        history.close()
    return steps
