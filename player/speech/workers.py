"""Starting worker processes with `spawn`, and rendering in several of them at once."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import types
from collections.abc import Iterable, Iterator

import numpy as np

SPAWN = multiprocessing.get_context("spawn")


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    """spawn re-runs the parent's __main__ in each child unless told otherwise; our workers need
    only their own modules, so __main__ is hidden while they start (scripts, stdin and -m alike)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


_engine = None
_job = None


def _start_worker(engine_name: str, settings, voice_id: str) -> None:
    """In each worker: one engine (a Piper model is loaded once here, not per clip)."""
    import signal

    from player.speech import get_engine

    global _engine, _job
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _engine = get_engine(engine_name)
    if hasattr(_engine, "threads"):
        _engine.threads = 1  # the cores are shared out between the workers
    _job = (settings, voice_id)


def _clip(sentence: str) -> tuple[str, np.ndarray | str]:
    from player.errors import SpeechError
    from player.speech import make_clip

    settings, voice_id = _job
    try:
        return sentence, make_clip(_engine, sentence, settings, voice_id)
    except SpeechError as exc:
        return sentence, str(exc)


def clips_in_parallel(engine_name: str, settings, voice_id: str, sentences: list[str],
                      jobs: int) -> Iterable[tuple[str, np.ndarray | str]]:
    """(sentence, finished clip, or the error's message) from `jobs` worker processes, in order.
    A worker that dies (killed, out of memory) ends the run with an error instead of a hang."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from player.errors import SpeechError

    pool = ProcessPoolExecutor(jobs, mp_context=SPAWN, initializer=_start_worker,
                               initargs=(engine_name, settings, voice_id))
    try:
        with spawning():  # every task is queued, and every worker started, right here
            results = pool.map(_clip, sentences, chunksize=2)
        yield from results
    except BrokenProcessPool:
        raise SpeechError("a speech worker process stopped unexpectedly; try again with --jobs 1") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
