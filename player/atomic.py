"""Writing a file whole or not at all: every file guided writes (clips, exports, captions,
scripts, memos) goes through `replacing`, and what a killed run left half-written is swept."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PART_SUFFIX = ".part"
FULL_DISK_BYTES = 1 << 20  # less free than this, and libsndfile's "System error." means a full disk
# A partial file younger than this is never swept: its writer may be between making it and
# locking it (microseconds, unless the machine is very busy).
FRESH_S = 0.25


@contextlib.contextmanager
def replacing(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """A hidden temp path beside `target` (`.NAME.XXXX.part`), renamed over it only if the
    block succeeds and removed whatever else happens: a reader never sees half a file, and an
    existing file stays intact until the new one is whole. The temp file is locked while it is
    written, so a later run can tell one left by a killed run and sweeps it first. OSError
    (creating, writing, renaming) passes through for the caller to name with `write_failure`."""
    target = Path(target)
    sweep_beside(target)
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent)
        with os.fdopen(fd, "rb") as held:
            with contextlib.suppress(OSError):  # a file system without locks: swept by age alone
                # Blocking: a sweeper only tests the lock for an instant, then leaves a fresh file be.
                fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            yield Path(temp)
            os.chmod(temp, mode)
            os.replace(temp, target)
    except BaseException:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise


def is_abandoned(part: Path) -> bool:
    """True when no process holds the lock on a partial (or lock) file, and it is not fresh:
    its writer is gone. A file not there is judged by its folder's age (a lock file not made yet
    in a new folder is not abandoned)."""
    try:
        if time.time() - part.stat().st_mtime < FRESH_S:
            return False
    except FileNotFoundError:
        try:
            return time.time() - part.parent.stat().st_mtime >= FRESH_S
        except OSError:
            return True
    except OSError:
        return False
    try:
        with open(part, "rb") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def sweep(parts: list[Path]) -> int:
    """Remove the partial files among `parts` that were abandoned; return how many."""
    removed = 0
    for part in parts:
        if is_abandoned(part):
            with contextlib.suppress(OSError):
                part.unlink()
                removed += 1
    return removed


def sweep_beside(target: Path) -> int:
    """Remove abandoned `.NAME.*.part` files beside `target`."""
    try:
        return sweep(list(target.parent.glob(f".{glob.escape(target.name)}.*{PART_SUFFIX}")))
    except OSError:
        return 0


def write_failure(exc: OSError, target: Path) -> str:
    """One line saying why `target` could not be written, and what to do."""
    if exc.errno == errno.ENOSPC or (exc.errno == errno.EIO and disk_is_full(Path(target).parent)):
        return f"the disk is full: {target} was not written; free some space and try again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {target}: {exc.strerror}; choose a folder you can write to"
    return f"cannot write {target}: {exc.strerror or exc}"


def disk_is_full(folder: Path) -> bool:
    """libsndfile reports a full disk as a bare "System error.": look at the free space."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < FULL_DISK_BYTES or stats.f_favail == 0
