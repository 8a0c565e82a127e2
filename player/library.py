"""The bundled session library, and turning a SESSION argument into a script file."""

from __future__ import annotations

from pathlib import Path

from player.errors import SessionNotFound
from player.importer import Imported, import_script
from player.paths import scripts_dir
from player.script import Session, load_session

YAML_SUFFIXES = (".yaml", ".yml")
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
SCRIPT_SUFFIXES = YAML_SUFFIXES + TEXT_SUFFIXES


def bundled_paths() -> list[Path]:
    """Every bundled script, sorted by id."""
    folder = scripts_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def resolve_session(name: str) -> Path:
    """A bundled id (file stem in scripts/) or a path to a .yaml, .md or .txt script."""
    for path in bundled_paths():
        if path.stem == name:
            return path
    candidate = Path(name).expanduser()
    if candidate.suffix.lower() in SCRIPT_SUFFIXES and candidate.is_file():
        return candidate
    raise SessionNotFound(name)


def read_script(path: Path, strict: bool = False) -> Imported:
    """Load a script file of any kind, validated: YAML as it is, text and Markdown through the
    importer (which also reports the stage directions it left unspoken, and its warnings)."""
    path = Path(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        return import_script(path, strict)
    return Imported(load_session(path))


def open_script(name: str, strict: bool = False) -> Imported:
    """Resolve a SESSION argument and load it."""
    return read_script(resolve_session(name), strict)


def open_session(name: str) -> Session:
    """Resolve and load a session, validated."""
    return open_script(name).session
