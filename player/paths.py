"""Where guided-player keeps things: one place for every user path and its override."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "guided-player"
PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def in_checkout() -> bool:
    """True when running from a source checkout (its pyproject.toml sits beside the package)."""
    return (CHECKOUT_DIR / "pyproject.toml").is_file() and (CHECKOUT_DIR / "audio_cache").is_dir()


def scripts_dir() -> Path:
    """The bundled session scripts: inside the installed package, or `scripts/` in a checkout."""
    installed = PACKAGE_DIR / "scripts"
    return installed if installed.is_dir() else CHECKOUT_DIR / "scripts"


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The clip cache: `--cache-dir`, else GUIDED_CACHE_DIR, else audio_cache/ in a checkout,
    else the platform's user cache folder."""
    chosen = override or os.environ.get("GUIDED_CACHE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    if in_checkout():
        return CHECKOUT_DIR / "audio_cache"
    import platformdirs  # only here: most runs never need it

    return Path(platformdirs.user_cache_dir(APP_NAME)) / "clips"


def home_dir() -> Path:
    """The user's data folder (history, voices): GUIDED_HOME, else the platform data folder."""
    chosen = os.environ.get("GUIDED_HOME")
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))
