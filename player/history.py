"""Practice history: one row per play in SQLite at GUIDED_HOME (or the user data folder).

The schema is made and upgraded by named migrations, each applied with its record in one
transaction. A locked or damaged database never stops a session: the caller is told once,
plays on without recording, and the file is left exactly as it was (never reset).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from player.errors import HistoryUnavailable, NothingToResume
from player.paths import home_dir

BUSY_TIMEOUT_MS = 2000
STATUSES = ("playing", "completed", "stopped", "failed")
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "001_create_plays",
        f"""
        CREATE TABLE plays (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL,
            title TEXT NOT NULL,
            script_hash TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL CHECK (status IN {STATUSES!r}),
            last_step INTEGER NOT NULL DEFAULT 0,
            total_steps INTEGER NOT NULL,
            seconds_listened REAL NOT NULL DEFAULT 0,
            partner_a TEXT,
            partner_b TEXT
        )
        """,
    ),
    ("002_index_plays_by_session", "CREATE INDEX plays_by_session ON plays (session_id, started_at)"),
)
if len({name for name, _ in MIGRATIONS}) != len(MIGRATIONS):
    raise RuntimeError("migration names must be unique")


def history_path() -> Path:
    return home_dir() / "history.sqlite3"


def script_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Play:
    id: int
    session_id: str
    title: str
    script_hash: str
    started_at: str
    ended_at: str | None
    status: str
    last_step: int
    total_steps: int
    seconds_listened: float
    partner_a: str | None
    partner_b: str | None

    def to_json(self) -> dict:
        return dict(self.__dict__)


class History:
    """The plays table, behind a connection opened with WAL and a busy timeout.

    `read_only` opens it for reading alone (`guided history`): nothing is created or migrated,
    so a history on a read-only mount or a full disk still reads."""

    def __init__(self, path: Path | None = None, read_only: bool = False):
        self.path = Path(path) if path else history_path()
        self.read_only = read_only
        try:
            self.db = self._open_for_reading() if read_only else self._open_for_writing()
        except (sqlite3.Error, OSError) as exc:
            raise HistoryUnavailable(f"practice history is unavailable ({exc}); {self.path} was left as it is") from None

    def _open_for_writing(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db.execute("PRAGMA journal_mode = WAL")
        self._migrate()
        return self.db

    def _open_for_reading(self) -> sqlite3.Connection | None:
        """None when there is no history yet. A WAL database needs its -shm file written even to
        be read; where that cannot be (a read-only folder, a full disk) it is read as immutable."""
        if not self.path.exists():
            return None
        uri = self.path.resolve().as_uri()
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            db = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db

    def _migrate(self) -> None:
        """Each migration, with the check that it is still to do, inside one BEGIN IMMEDIATE:
        two processes opening a new history at once apply it once between them."""
        with self._transaction():
            self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for name, sql in MIGRATIONS:
            with self._transaction():
                if self.db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    continue
                self.db.execute(sql)
                self.db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, _now()))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _write(self, sql: str, args: tuple) -> sqlite3.Cursor:
        try:
            with self._transaction():
                return self.db.execute(sql, args)
        except sqlite3.Error as exc:
            raise HistoryUnavailable(f"practice history could not be saved ({exc})") from None

    def start(self, session_id: str, title: str, hash_: str, total_steps: int,
              names: tuple[str, str] | None = None) -> int:
        a, b = names or (None, None)
        cursor = self._write(
            "INSERT INTO plays (session_id, title, script_hash, started_at, status, total_steps, partner_a, partner_b)"
            " VALUES (?, ?, ?, ?, 'playing', ?, ?, ?)",
            (session_id, title, hash_, _now(), total_steps, a, b),
        )
        return cursor.lastrowid

    def progress(self, play_id: int, last_step: int, seconds: float) -> None:
        self._write("UPDATE plays SET last_step = ?, seconds_listened = ? WHERE id = ?",
                    (last_step, round(seconds, 3), play_id))

    def finish(self, play_id: int, status: str, last_step: int, seconds: float) -> None:
        self._write(
            "UPDATE plays SET status = ?, ended_at = ?, last_step = ?, seconds_listened = ? WHERE id = ?",
            (status, _now(), last_step, round(seconds, 3), play_id),
        )

    def _plays(self, where: str = "", args: tuple = (), limit: int | None = None) -> list[Play]:
        sql = f"SELECT * FROM plays {where} ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if self.db is None:  # read-only, and no history yet
            return []
        try:
            if self.read_only and not self._has_plays_table():
                return []
            return [Play(*row) for row in self.db.execute(sql, args)]
        except sqlite3.Error as exc:
            raise HistoryUnavailable(f"practice history could not be read ({exc})") from None

    def recent(self, limit: int = 10) -> list[Play]:
        return self._plays(limit=limit)

    def latest_stopped(self, session_id: str) -> Play | None:
        plays = self._plays("WHERE session_id = ? AND status IN ('stopped', 'playing')", (session_id,), 1)
        return plays[0] if plays else None

    def summary(self, today: date | None = None) -> dict:
        """Sessions completed, minutes this week, the current streak of practice days, and the
        practice days of the last 12 weeks (local dates)."""
        today = today or date.today()
        plays = self._plays()
        days = {datetime.fromisoformat(p.started_at).astimezone().date() for p in plays if p.seconds_listened > 0}
        week_start = today - timedelta(days=today.weekday())
        minutes = sum(p.seconds_listened for p in plays
                      if datetime.fromisoformat(p.started_at).astimezone().date() >= week_start) / 60
        streak = 0
        day = today if today in days else today - timedelta(days=1)
        while day in days:
            streak += 1
            day -= timedelta(days=1)
        first = week_start - timedelta(weeks=11)
        return {
            "completed": sum(1 for p in plays if p.status == "completed"),
            "minutes_this_week": round(minutes, 1),
            "streak_days": streak,
            "practice_days": sorted(d.isoformat() for d in days if d >= first),
            "calendar_from": first.isoformat(),
        }

    @classmethod
    def open_or_warn(cls, warn: Callable[[str], None]) -> History | None:
        """The history, or None with one warning when it cannot be used: a session plays on
        without recording (to resume, see open_to_resume)."""
        try:
            return cls()
        except HistoryUnavailable as exc:
            warn(f"{exc}; playing without recording")
            return None

    def _has_plays_table(self) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'plays'").fetchone() is not None

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def calendar_lines(summary: dict, today: date | None = None) -> list[str]:
    """A 12-week calendar, a row per weekday, a column per week: ■ practised, · not."""
    today = today or date.today()
    first = date.fromisoformat(summary["calendar_from"])
    practised = set(summary["practice_days"])
    lines = []
    for weekday, label in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")):
        cells = []
        for week in range(12):
            day = first + timedelta(weeks=week, days=weekday)
            cells.append(" " if day > today else ("■" if day.isoformat() in practised else "·"))
        lines.append(f"{label} {' '.join(cells)}")
    return lines


class Recorder:
    """Keeps one play's row up to date as the steps go by. After the first failure to write,
    it warns once and stops trying; playback goes on regardless."""

    def __init__(self, history: History | None, play_id: int | None, warn: Callable[[str], None]):
        self.history, self.play_id, self.warn = history, play_id, warn
        self.last_step = 0
        self.listened_s = 0.0
        self.completed = False

    def progress(self, step: int, listened_s: float) -> None:
        saved = (self.last_step, round(self.listened_s))
        self.last_step, self.listened_s = step, listened_s
        if saved != (step, round(listened_s)):
            self._try(self.history and self.history.progress, self.play_id, step, listened_s)

    def finish(self, status: str) -> None:
        self._try(self.history and self.history.finish, self.play_id, status, self.last_step, self.listened_s)

    def _try(self, write, *args) -> None:
        if not write:
            return
        try:
            write(*args)
        except HistoryUnavailable as exc:
            self.warn(str(exc))
            self.history = None


@contextmanager
def recording(history: History | None, session_id: str, title: str, hash_: str, total_steps: int,
              names: tuple[str, str] | None, warn: Callable[[str], None]) -> Iterator[Recorder]:
    """Record a play from start to finish: completed, stopped (q, Ctrl-C, SIGTERM) or failed."""
    play_id = None
    if history is not None:
        try:
            play_id = history.start(session_id, title, hash_, total_steps, names)
        except HistoryUnavailable as exc:
            warn(str(exc))
            history = None
    recorder = Recorder(history, play_id, warn)
    status = "failed"
    try:
        yield recorder
        status = "completed" if recorder.completed else "stopped"
    except KeyboardInterrupt:
        status = "stopped"
        raise
    finally:
        recorder.finish(status)


def open_to_resume(session_id: str) -> History:
    """The history, to resume a play of `session_id` from: when it cannot be opened, that is the
    one thing said (playing without recording is no answer to --resume)."""
    try:
        return History()
    except HistoryUnavailable as exc:
        raise HistoryUnavailable(f"cannot resume {session_id}: {exc}") from None


def resume_step(history: History, session_id: str, hash_: str, total_steps: int,
                warn: Callable[[str], None]) -> int:
    """The step where the latest stopped play of the session stopped, to play it again from
    (`history` from open_to_resume, which says in one line why there is none)."""
    last = history.latest_stopped(session_id)
    if last is None:
        raise NothingToResume(f"no stopped play of '{session_id}' to resume (see 'guided history')")
    step = min(max(last.last_step, 1), total_steps)
    if last.script_hash != hash_:
        warn(f"{session_id} has changed since that play; resuming at step {step} anyway")
    return step
