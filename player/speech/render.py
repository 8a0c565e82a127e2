"""Filling the cache: the one place where speech is made. Every face and stage that needs clips
asks for the missing ones here first; the audio stage, playback, export and captions only read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from player.cache import VoicedCache
from player.errors import SpeechError
from player.speech.clips import check_clip, condition_clip, make_clip

log = logging.getLogger(__name__)
_speaking = threading.Lock()  # an engine in this process speaks one sentence at a time


@dataclass(frozen=True)
class RenderReport:
    synthesized: int
    cached: int


def render_missing(
    voiced: VoicedCache,
    sentences: Iterable[str],
    progress: Callable[[int], None] = lambda n: None,
    jobs: int = 1,
    threads: int | None = 1,
    stop: threading.Event | None = None,
) -> RenderReport:
    """Synthesize every sentence not yet cached (or damaged); count what was done.
    `progress(1)` is called for each clip synthesized.

    Engines safe in worker processes (Piper, espeak-ng) speak in `jobs` of them, each on
    `threads` cores (None: every core), supervised, until `stop` is set (see
    clips_in_parallel). Otherwise the engine speaks the next sentence while a second thread
    checks, levels and stores the last one; a clip that fails its check is made again with
    make_clip's own retry."""
    unique = list(dict.fromkeys(sentences))
    todo = voiced.missing(unique)
    if todo and voiced.engine.parallel_safe:
        _render_in_parallel(voiced, todo, progress, jobs, threads, stop)
    elif todo:
        with _speaking:
            _render_here(voiced, todo, progress)
    return RenderReport(len(todo), len(unique) - len(todo))


def _render_here(voiced: VoicedCache, todo: list[str], progress: Callable[[int], None]) -> None:
    engine, settings = voiced.engine, voiced.settings
    unspoken: list[str] = []  # the engine failed: not yet counted
    unfit: list[str] = []  # spoken, but the clip failed its check: counted already
    with ThreadPoolExecutor(max_workers=1) as finisher:
        finished = []
        for sentence in todo:
            try:
                raw = engine.synthesize(sentence, voiced.voice_id, settings.rate, 1.0)
            except SpeechError as exc:
                log.debug("speech failed once for %r: %s", sentence, exc)
                unspoken.append(sentence)
                continue
            finished.append((sentence, finisher.submit(_finish, voiced, sentence, raw)))
            progress(1)
        unfit += [sentence for sentence, done in finished if not done.result()]
    for sentence in unspoken + unfit:
        voiced.store(sentence, make_clip(engine, sentence, settings, voiced.voice_id))
        if sentence in unspoken:
            progress(1)


def _render_in_parallel(voiced: VoicedCache, todo: list[str], progress: Callable[[int], None], jobs: int,
                        threads: int | None, stop: threading.Event | None) -> None:
    """Each worker process has its own engine and makes finished clips; stored here."""
    from player.speech.workers import clips_in_parallel

    clips = clips_in_parallel(voiced.engine.name, voiced.settings, voiced.voice_id, todo, jobs, threads=threads,
                              stop=stop)
    try:
        for sentence, clip in clips:
            voiced.store(sentence, clip)
            progress(1)
    finally:
        clips.close()  # the workers end here, whichever way the loop did


def _finish(voiced: VoicedCache, sentence: str, raw: np.ndarray) -> bool:
    """Check, level and store one synthesized clip; False if it is not fit to keep."""
    reason = check_clip(raw, sentence, voiced.settings.rate)
    if reason is not None:
        log.debug("clip for %r refused: %s", sentence, reason)
        return False
    voiced.store(sentence, condition_clip(raw, voiced.settings.volume))
    return True
