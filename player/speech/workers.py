"""Starting worker processes with `spawn`, and rendering in several of them at once."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import types
from collections import Counter, deque
from collections.abc import Iterator
from multiprocessing.connection import wait

import numpy as np

from player.errors import GuidedError, SpeechError

SPAWN = multiprocessing.get_context("spawn")
log = logging.getLogger(__name__)


_spawning = threading.Lock()


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    """spawn re-runs the parent's __main__ in each child unless told otherwise; our workers need
    only their own modules, so __main__ is hidden while they start (scripts, stdin and -m alike).

    Ctrl-C is the parent's to handle: SIGINT is blocked while a child starts, and the child
    inherits that, so a Ctrl-C during its start-up is not a traceback from the child. Each
    worker ignores SIGINT, then unblocks it (see ignore_ctrl_c)."""
    with _spawning:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        blocked = hasattr(signal, "pthread_sigmask")
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            sys.modules["__main__"] = main
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def ignore_ctrl_c() -> None:
    """In a worker: SIGINT ignored (a Ctrl-C pending since start-up is dropped), then unblocked."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


CLIP_TIMEOUT_S = 60.0  # from handing a worker a sentence to its clip, start-up included
WORKER_NICENESS = 5


def raise_failure(message: str, details: str) -> None:
    """A worker's failure, sent as plain text (it pickles whatever the exception was): the
    message for the user as a SpeechError, and the worker's traceback logged for --debug."""
    log.debug("a speech worker failed:\n%s", details)
    raise SpeechError(message)


def _worker_main(conn, engine_name: str, settings, voice_id: str, threads: int | None) -> None:
    """In each worker: one engine on `threads` cores (a Piper model is loaded once here, not
    per clip), and one sentence at a time; None ends it."""
    ignore_ctrl_c()
    from player.speech import get_engine
    from player.speech.clips import make_clip

    engine = None
    niced = False  # at full priority until the first clip: until then the player waits for it
    try:  # load the model before the first sentence comes: it may be started early (start_early)
        engine = get_engine(engine_name, threads=threads)
        engine.prepare(voice_id)
    except Exception:  # said in one line when the first sentence asks for it again, below
        engine = None
    while True:
        try:
            sentence = conn.recv()
        except (EOFError, OSError):
            return
        if sentence is None:
            return
        try:
            if engine is None:
                engine = get_engine(engine_name, threads=threads)
            answer = (sentence, make_clip(engine, sentence, settings, voice_id), None)
        except Exception as exc:  # SpeechError and the like: the parent reports it in one line
            message = str(exc) if isinstance(exc, GuidedError) else f"{type(exc).__name__}: {exc}"
            answer = (sentence, None, (message, traceback.format_exc()))
        try:
            conn.send(answer)
        except OSError:  # the parent has gone: nobody is waiting for this clip
            return
        if not niced:
            niced = True
            with contextlib.suppress(OSError):
                os.nice(WORKER_NICENESS)  # while playing, the player must never wait for the cores


class _Worker:
    def __init__(self, job: tuple):
        self.conn, child = SPAWN.Pipe()
        self.process = SPAWN.Process(target=_worker_main, args=(child, *job), daemon=True, name="guided-render")
        try:
            with spawning():
                self.process.start()
        except BaseException:
            self.conn.close()
            raise
        finally:
            child.close()
        self.sentence: str | None = None
        self.since = 0.0

    def give(self, sentence: str) -> None:
        self.sentence, self.since = sentence, time.monotonic()
        try:
            self.conn.send(sentence)
        except OSError:  # it has died: seen as dead below, and its sentence given again
            pass

    def stop(self, kill: bool = False) -> None:
        """An idle worker is asked to end; a busy one (its clip no longer wanted) is killed."""
        if kill or self.sentence is not None:
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)

    def reap(self, deadline: float) -> None:
        self.process.join(max(0.0, deadline - time.monotonic()))
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self.conn.close()


_early: dict[tuple, _Worker] = {}


def start_early(engine_name: str, settings, voice_id: str, threads: int | None = None) -> None:
    """Start one worker now, loading its engine, before anyone knows which sentences are needed:
    `guided play` hashes the model, plans and opens the mixer meanwhile. The next
    clips_in_parallel for the same engine, voice and threads takes it; discard_early ends it
    if none does."""
    job = (engine_name, settings, voice_id, threads)
    if job not in _early:
        _early[job] = _Worker(job)


def discard_early() -> None:
    """End the workers started early that no render took (the cache was warm)."""
    while _early:
        _, worker = _early.popitem()
        worker.stop(kill=True)  # it may be busy loading its model: waiting for it helps nobody
        worker.reap(time.monotonic() + 2)


def clips_in_parallel(engine_name: str, settings, voice_id: str, sentences: list[str], jobs: int,
                      timeout: float = CLIP_TIMEOUT_S, threads: int | None = 1,
                      stop: threading.Event | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(sentence, finished clip) from `jobs` worker processes,
    each on `threads` cores (None: every core), as they are made, until `stop` is set.

    A worker that dies, or does not answer within `timeout`, is killed and replaced, and its
    sentence tried once more; a second failure ends the run with an error naming the sentence.
    An engine's own failure ends it at once, as a SpeechError (its traceback logged for --debug)."""
    queue = deque(dict.fromkeys(sentences))
    failures: Counter[str] = Counter()
    job = (engine_name, settings, voice_id, threads)
    workers: list[_Worker] = []
    try:
        for _ in range(min(jobs, len(queue))):
            early = _early.pop(job, None)
            if early is not None and not early.process.is_alive():  # it died while waiting: a new one
                early.reap(time.monotonic())
                early = None
            workers.append(early or _Worker(job))
        while (queue or any(w.sentence is not None for w in workers)) and not (stop and stop.is_set()):
            for worker in workers:
                if worker.sentence is None and queue:
                    worker.give(queue.popleft())
            busy = [w for w in workers if w.sentence is not None]
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.25)
            for worker in busy:
                try:
                    if worker.conn.poll():
                        sentence, clip, failure = worker.conn.recv()
                        worker.sentence = None
                        if failure is not None:
                            raise_failure(*failure)
                        yield sentence, clip
                        continue
                except (EOFError, OSError):
                    pass
                if worker.process.is_alive() and time.monotonic() - worker.since < timeout:
                    continue
                reason = (f"did not answer within {timeout:.0f}s" if worker.process.is_alive()
                          else f"stopped (exit code {worker.process.exitcode})")
                failed = worker.sentence
                worker.stop(kill=True)
                worker.reap(time.monotonic() + 2)
                workers.remove(worker)
                failures[failed] += 1
                if failures[failed] > 1:
                    raise SpeechError(f"speech failed twice for {failed[:60]!r}: the worker process {reason}")
                queue.appendleft(failed)
                if not (stop and stop.is_set()):
                    workers.append(_Worker(job))
    finally:
        for worker in workers:
            worker.stop()
        deadline = time.monotonic() + 2
        for worker in workers:
            worker.reap(deadline)
