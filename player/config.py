"""A person's saved preferences: a small TOML file in GUIDED_HOME (`guided config`).

Only keys listed in SETTINGS are kept, each checked when it is set and again when it is read:
a bad value in a file edited by hand is reported in one line that names the file.
The file is read with tomllib (tomli before Python 3.11) and written with tomli-w, atomically.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from player.errors import ConfigError
from player.limits import ENGINES
from player.paths import home_dir

FILE_NAME = "config.toml"


def _engine(value: str) -> str:
    if value not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not '{value}'")
    return value


# key -> (what it means, a check that returns the value to keep or raises ConfigError)
SETTINGS: dict[str, tuple[str, Callable[[str], str]]] = {
    "engine": ("the speech engine used when --engine and GUIDED_ENGINE are not given", _engine),
}


def config_path() -> Path:
    return home_dir() / FILE_NAME


def _known(key: str) -> Callable[[str], str]:
    if key not in SETTINGS:
        raise ConfigError(f"unknown setting '{key}'; settings: {', '.join(SETTINGS)}")
    return SETTINGS[key][1]


def load(path: Path | None = None) -> dict[str, str]:
    """Every setting saved, checked; ConfigError (one line, naming the file) if it is damaged."""
    path = path or config_path()
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            saved = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it, or delete it to start afresh") from None
    settings = {}
    for key, value in saved.items():
        try:
            settings[key] = _known(key)(str(value))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}; fix it there, or delete the line") from None
    return settings


def get(key: str) -> str | None:
    _known(key)
    return load().get(key)


def set_value(key: str, value: str) -> str:
    """Check and save one setting; return the value kept."""
    value = _known(key)(value.strip())
    _write({**load(), key: value})
    return value


def unset(key: str) -> bool:
    """Forget one setting; False if it was not set."""
    _known(key)
    settings = load()
    if key not in settings:
        return False
    del settings[key]
    _write(settings)
    return True


def _write(settings: dict[str, str]) -> None:
    import tomli_w

    from player.atomic import replacing, write_failure

    path = config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as temp:
            temp.write_text(tomli_w.dumps(settings), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(write_failure(exc, path)) from None
