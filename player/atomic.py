"""Writing a file whole or not at all: every file guided writes (clips, exports, captions,
scripts, memos) goes through `replacing`."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

PART_SUFFIX = ".part"


@contextlib.contextmanager
def replacing(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """A hidden temp path beside `target` (`.NAME.XXXX.part`), renamed over it only if the
    block succeeds and removed whatever else happens: a reader never sees half a file, and an
    existing file stays intact until the new one is whole. OSError (creating, writing, renaming)
    passes through for the caller to name with `write_failure`."""
    target = Path(target)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent)
    try:
        os.close(fd)
        yield Path(temp)
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_failure(exc: OSError, target: Path) -> str:
    """One line saying why `target` could not be written, and what to do."""
    if exc.errno == errno.ENOSPC:
        return f"the disk is full: {target} was not written; free some space and try again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {target}: {exc.strerror}; choose a folder you can write to"
    return f"cannot write {target}: {exc.strerror or exc}"
