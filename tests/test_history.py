"""Practice history in a real SQLite file: plays, summary, resume, and a database in trouble."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from conftest import GUIDED, run_env
from test_robustness import wait_for_step

from player.cli import cli
from player.errors import HistoryUnavailable
from player.history import MIGRATIONS, History, calendar_lines, recording


@pytest.fixture
def history(tmp_path):
    store = History(tmp_path / "history.sqlite3")
    yield store
    store.close()


def test_schema_is_made_by_named_migrations_once(tmp_path, history):
    names = [row[0] for row in history.db.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert history.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = History(tmp_path / "history.sqlite3")  # opening again applies nothing twice
    assert again.db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
    again.close()


def test_a_play_is_recorded_from_start_to_finish(history):
    warnings = []
    with recording(history, "arriving", "Arriving", "abc", 14, None, warnings.append) as record:
        record.progress(3, 40.0)
        record.progress(9, 120.5)
        record.completed = True
    (play,) = history.recent()
    assert (play.session_id, play.status, play.last_step, play.total_steps) == ("arriving", "completed", 9, 14)
    assert play.seconds_listened == 120.5 and play.ended_at and play.partner_a is None
    assert warnings == []


def test_ctrl_c_records_a_stop_and_names_are_kept_only_when_asked(history):
    with pytest.raises(KeyboardInterrupt):
        with recording(history, "daily-check-in", "Daily", "abc", 14, ("Sam", "Alex"), print) as record:
            record.progress(5, 60)
            raise KeyboardInterrupt
    play = history.latest_stopped("daily-check-in")
    assert (play.status, play.last_step, play.partner_a, play.partner_b) == ("stopped", 5, "Sam", "Alex")


def test_summary_streak_and_calendar(history):
    today = date(2026, 11, 26)  # a Thursday
    for days_ago, status in [(0, "completed"), (1, "stopped"), (2, "completed"), (5, "completed")]:
        when = datetime.combine(today - timedelta(days=days_ago), datetime.min.time()).replace(hour=12)
        history.db.execute(
            "INSERT INTO plays (session_id, title, script_hash, started_at, status, total_steps, seconds_listened)"
            " VALUES ('s', 'S', 'h', ?, ?, 10, 600)",
            (when.astimezone(timezone.utc).isoformat(), status),
        )
    summary = history.summary(today)
    assert summary["completed"] == 3 and summary["streak_days"] == 3
    assert summary["minutes_this_week"] == 30  # Monday to Thursday: three plays of ten minutes
    lines = calendar_lines(summary, today)
    assert len(lines) == 7 and lines[3].startswith("Thu") and lines[3].endswith("■")
    assert lines[4].endswith(" ")  # Friday has not come yet


def test_a_locked_database_warns_and_keeps_every_row(tmp_path, history):
    with recording(history, "arriving", "Arriving", "h", 14, None, print) as record:
        record.completed = True
    other = sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    warnings = []
    try:
        with recording(history, "arriving", "Arriving", "h", 14, None, warnings.append) as record:
            record.progress(2, 10)
            record.completed = True
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(warnings) == 1 and warnings[0].startswith("practice history could not be saved (database is locked)")
    assert [p.status for p in history.recent()] == ["completed"]


def test_a_damaged_database_is_never_reset(tmp_path):
    path = tmp_path / "history.sqlite3"
    store = History(path)
    with recording(store, "arriving", "Arriving", "h", 14, None, print) as record:
        record.completed = True
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[:100])  # truncated
    damaged = path.read_bytes()
    with pytest.raises(HistoryUnavailable) as info:
        History(path)
    assert f"{path} was left as it is" in str(info.value)
    assert path.read_bytes() == damaged


def test_history_command(tmp_path, fake_engine, monkeypatch):
    store = History()
    with recording(store, "arriving", "Arriving", "h", 14, None, print) as record:
        record.progress(14, 183)
        record.completed = True
    store.close()
    result = CliRunner().invoke(cli, ["history", "--json"])
    data = json.loads(result.output)
    assert [p["status"] for p in data["plays"]] == ["completed"]
    assert data["summary"]["completed"] == 1 and data["summary"]["streak_days"] == 1
    text = CliRunner().invoke(cli, ["history"]).output
    assert "completed" in text and "Arriving" in text and "current streak: 1 day" in text


def play(tmp_path, *args, **env):
    environment = run_env(tmp_path, **{"SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(tmp_path / "p.raw"), **env})
    return subprocess.run(GUIDED + ["play", *args], capture_output=True, text=True, env=environment,
                          stdin=subprocess.DEVNULL, timeout=300)


SCRIPT = """
title: Resumable
summary: S
steps:
  - section: One
  - say: The first step.
  - section: Two
  - say: The second step.
  - say: The third step.
"""


@pytest.mark.slow
def test_from_a_section_and_a_damaged_history_does_not_stop_play(tmp_path, write_script):
    script = write_script(SCRIPT)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "history.sqlite3").write_bytes(b"this is not a database" * 10)
    result = play(tmp_path, str(script), "--from", "two")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "Starting at step 3 of 5.", "", "── Two ──", "The second step.", "The third step.", "",
        "The session has ended.",
    ]
    assert result.stderr.count("Warning: practice history is unavailable") == 1
    assert (tmp_path / "home" / "history.sqlite3").read_bytes() == b"this is not a database" * 10


@pytest.mark.slow
def test_resume_continues_where_a_play_stopped(tmp_path, write_script):
    script = write_script(SCRIPT)
    store = History(tmp_path / "home" / "history.sqlite3")
    with pytest.raises(KeyboardInterrupt):
        with recording(store, "session", "Resumable", "old", 5, None, print) as record:
            record.progress(4, 3.0)
            raise KeyboardInterrupt
    store.close()
    result = play(tmp_path, str(script), "--resume")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:3] == ["Starting at step 4 of 5.", ""]
    assert "The third step." in result.stdout and "The first step." not in result.stdout
    assert result.stderr == "Warning: session has changed since that play; resuming at step 4 anyway\n"
    nothing = play(tmp_path, str(write_script(SCRIPT, "other.yaml")), "--resume")
    assert nothing.returncode == 1
    assert nothing.stderr == "Error: no stopped play of 'other' to resume (see 'guided history')\n"


@pytest.mark.slow
def test_sigterm_saves_the_position(tmp_path, write_script):
    import signal
    import time

    script = write_script("title: T\nsummary: S\nsteps:\n  - say: Hello.\n  - pause: 60s\n  - say: Bye.\n")
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(tmp_path / "p.raw"))
    subprocess.run(GUIDED + ["render", str(script)], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(GUIDED + ["play", str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    wait_for_step(tmp_path / "home" / "history.sqlite3", 2)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and err == "\nStopped.\n"
    store = History(tmp_path / "home" / "history.sqlite3")
    (last,) = store.recent()
    assert (last.status, last.last_step) == ("stopped", 2)
    assert 1 < last.seconds_listened < 10
    store.close()


@pytest.mark.slow
def test_resume_with_nothing_to_resume_fails_before_the_device_is_opened(tmp_path, write_script):
    script = write_script(SCRIPT)
    result = play(tmp_path, str(script), "--resume", SDL_AUDIODRIVER="no-such-driver")
    assert result.returncode == 1
    assert result.stderr == "Error: no stopped play of 'session' to resume (see 'guided history')\n"
