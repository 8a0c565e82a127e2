"""Stopping on a signal: Ctrl-C, SIGTERM (timeout, supervisors) and SIGHUP (a closed terminal)
all stop a play the same way, and the first one wins.

Each of them raises KeyboardInterrupt once; any that follow are ignored until the process ends,
so a second SIGTERM in quick succession (as `timeout` and many supervisors send) cannot cut
short the saving of the history row or the "Stopped." line."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

_state = {"depth": 0, "stopping": False, "previous": {}}


def _on_stop_signal(signum, frame) -> None:
    if _state["stopping"]:
        return  # a stop is already under way
    _state["stopping"] = True
    raise KeyboardInterrupt


def _ignore_from_now_on(signum, frame) -> None:
    return None


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within: the first stop signal raises KeyboardInterrupt, later ones are ignored. Nested
    uses share the outermost. After a stop, the signals stay ignored while the process ends;
    otherwise the previous handlers are put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state["depth"] == 0:
        _state["stopping"] = False
        _state["previous"] = {s: signal.signal(s, _on_stop_signal) for s in STOP_SIGNALS}
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if _state["depth"] == 0:
            for s, previous in _state["previous"].items():
                signal.signal(s, _ignore_from_now_on if _state["stopping"] else previous)
