"""The project's error types: one per kind of failure, each with a message fit for one line."""

from __future__ import annotations

from dataclasses import dataclass


class GuidedError(Exception):
    """Base of every error the CLI reports as one line and exit status 1."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a script, at a line of its file."""

    line: int
    message: str


class ScriptError(GuidedError):
    """A script that cannot be played; carries every problem found, not just the first."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(f"{path}:{p.line}: {p.message}" for p in self.problems))


class SessionNotFound(GuidedError):
    """A SESSION argument that is neither a bundled id nor a script file."""

    def __init__(self, name: str):
        super().__init__(f"no session named '{name}' (see 'guided list')")


class SpeechError(GuidedError):
    """The speech engine failed to produce a usable clip."""


class AudioDeviceError(GuidedError):
    """No audio device could be opened for playback."""


class ExportError(GuidedError):
    """An export could not be written."""


class CacheError(GuidedError):
    """The clip cache folder cannot be used."""


class FitError(GuidedError):
    """A length a session cannot be fitted to (--minutes)."""


class BadName(GuidedError):
    """A partner name that cannot be shown or spoken."""


class HistoryUnavailable(GuidedError):
    """The history database cannot be used just now (locked, damaged, unwritable)."""


class NothingToResume(GuidedError):
    """--resume with no stopped play of that session in the history."""


class AmbienceError(GuidedError):
    """An ambience file that cannot be used."""


class UsageProblem(GuidedError):
    """Options that do not go together, or name nothing there is; the CLI reports it as a
    usage error (exit 2)."""


class StartNotFound(UsageProblem):
    """A --from that names no step or section of the session."""


class ServeError(GuidedError):
    """`guided serve` cannot start: the port is taken, or the web extra is not installed."""


class ConfigError(GuidedError):
    """A setting that cannot be saved or read (`guided config`, GUIDED_HOME/config.toml)."""
