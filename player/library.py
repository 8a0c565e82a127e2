"""The bundled session library, and turning a SESSION argument into a script file."""

from __future__ import annotations

from pathlib import Path

from player.errors import SessionNotFound
from player.paths import scripts_dir
from player.script import Session, load_session

SCRIPT_SUFFIXES = (".yaml", ".yml")


def bundled_paths() -> list[Path]:
    """Every bundled script, sorted by id."""
    folder = scripts_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in SCRIPT_SUFFIXES and p.is_file())


def resolve_session(name: str) -> Path:
    """A bundled id (file stem in scripts/) or a path to a .yaml file."""
    for path in bundled_paths():
        if path.stem == name:
            return path
    candidate = Path(name).expanduser()
    if candidate.suffix in SCRIPT_SUFFIXES and candidate.is_file():
        return candidate
    raise SessionNotFound(name)


def open_session(name: str) -> Session:
    """Resolve and load a session, validated."""
    return load_session(resolve_session(name))
