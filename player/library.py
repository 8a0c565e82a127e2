"""The bundled session library, and turning a SESSION argument into a loaded script.

Finding a script is light; the parsers (PyYAML, the importer) are imported only to load one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from player.errors import SessionNotFound
from player.paths import scripts_dir

if TYPE_CHECKING:
    from player.importer import Imported

YAML_SUFFIXES = (".yaml", ".yml")
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
SCRIPT_SUFFIXES = YAML_SUFFIXES + TEXT_SUFFIXES


def bundled_paths() -> list[Path]:
    """Every bundled script, sorted by id."""
    folder = scripts_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def find_script(name: str | Path) -> Path:
    """A bundled id (file stem in scripts/) or a path to a .yaml, .md or .txt script."""
    for path in bundled_paths():
        if path.stem == str(name):
            return path
    candidate = Path(name).expanduser()
    if candidate.suffix.lower() in SCRIPT_SUFFIXES and candidate.is_file():
        return candidate
    raise SessionNotFound(name)


def load_script(path: Path, strict: bool = False) -> Imported:
    """Load a script file of any kind, validated: YAML as it is, text and Markdown through the
    importer (which also reports the stage directions it left unspoken, and its warnings)."""
    from player.importer import Imported, import_script
    from player.script import load_session

    path = Path(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        return import_script(path, strict)
    return Imported(load_session(path))

