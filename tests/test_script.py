"""Parsing and validation of script format v1: every problem reported, with its line."""

from __future__ import annotations

import pytest

from player.errors import ScriptError, SessionNotFound
from player.library import find_script
from player.script import load_session, parse_duration

GOOD = """
title: Two Familiar Stories
summary: A short test.
mode: couple
tags: [test, couple]
steps:
  - section: Arriving
  - say: Welcome. [2s] Let your shoulders drop.
  - pause: 10s
  - bell
  - reflect: 1m
    prompt: Which moment felt familiar?
  - talk: 2m
    prompt: "{a}, tell {b} about one hope."
  - wait: When you are both ready, press space.
    fallback: 20s
  - turns: [b, a]
    steps:
      - say: "{speaker}, speak. {listener}, listen."
      - talk: 1m30s
  - bell: end
"""


def problems(path):
    with pytest.raises(ScriptError) as info:
        load_session(path)
    return [(p.line, p.message) for p in info.value.problems]


def test_a_valid_script_loads_every_kind_of_step(write_script):
    session = load_session(write_script(GOOD))
    assert (session.title, session.mode, session.tags) == ("Two Familiar Stories", "couple", ("test", "couple"))
    kinds = [s.kind for s in session.steps]
    assert kinds == ["section", "say", "pause", "bell", "reflect", "talk", "wait", "turns", "bell"]
    wait, turns, end = session.steps[6], session.steps[7], session.steps[8]
    assert (wait.text, wait.seconds) == ("When you are both ready, press space.", 20.0)
    assert turns.order == ("b", "a") and [s.kind for s in turns.steps] == ["say", "talk"]
    assert turns.steps[1].seconds == 90.0
    assert end.closing and not session.steps[3].closing


@pytest.mark.parametrize(
    "text, seconds",
    [("45s", 45), ("2m", 120), ("1m30s", 90), (30, 30), ("12.5", 12.5), ("0.5s", 0.5), (2.5, 2.5)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "s", "1h", "2 minutes", "1m 30s", True, None, [1]])
def test_bad_durations(text):
    assert parse_duration(text) is None


def test_every_problem_is_reported_at_once_with_its_line(write_script):
    path = write_script(
        """
        title: Broken
        summary: Many problems.
        colour: blue
        steps:
          - say: ""
          - pause: forever
          - reflect: 0s
          - dance: 1m
          - say: Hello {name}.
          - talk: 2m
          - wait: Ready?
            fallback: 61m
          - bell: loud
          - say: Breathe [pause] now.
          - reflect: 30s
            prompt: Think.
            extra: 1
        """
    )
    assert problems(path) == [
        (3, "unknown key 'colour' (expected one of: title, summary, mode, tags, pronounce, steps)"),
        (5, "say text must be non-empty text"),
        (6, "pause needs a duration like 45s, 2m or 1m30s, not 'forever'"),
        (7, "reflect of '0s' is out of range: more than 0 and at most 60m"),
        (8, "unknown step kind (dance); a step is one of: section, say, pause, bell, reflect, talk, wait, respond, turns"),
        (9, "unknown placeholder {name} (use {a}, {b}, {speaker} or {listener})"),
        (10, "talk steps need 'mode: couple'"),
        (12, "fallback of '61m' is out of range: more than 0 and at most 60m"),
        (13, "bell takes no value, or 'end' for the closing bell, not 'loud'"),
        (14, "unrecognised cue [pause]; an inline silence is written [2s] or [1.5s]"),
        (17, "unknown key 'extra' in a reflect step (allowed: prompt)"),
    ]


def test_the_message_names_path_and_line(write_script):
    path = write_script("title: T\nsummary: S\nsteps:\n  - pause: soon\n")
    with pytest.raises(ScriptError) as info:
        load_session(path)
    assert str(info.value) == f"{path}:4: pause needs a duration like 45s, 2m or 1m30s, not 'soon'"


def test_missing_required_keys(write_script):
    assert problems(write_script("mode: solo\n")) == [
        (1, "missing 'title'"),
        (1, "missing 'summary'"),
        (1, "missing 'steps': a script needs at least one step"),
    ]


def test_wrong_types(write_script):
    path = write_script(
        """
        title: [not, text]
        summary: S
        mode: trio
        tags: couple
        steps: []
        """
    )
    assert problems(path) == [
        (1, "'title' must be non-empty text"),
        (3, "mode must be 'solo' or 'couple', not 'trio'"),
        (4, "tags must be a list of words, e.g. [couple, listening]"),
        (5, "steps must be a non-empty list"),
    ]


def test_a_long_title_is_refused(write_script):
    path = write_script(f"title: {'x' * 81}\nsummary: S\nsteps: [bell]\n")
    assert problems(path) == [(1, "title is 81 characters; keep it to 80")]


def test_placeholders_belong_where_they_have_a_meaning(write_script):
    path = write_script(
        """
        title: T
        summary: S
        mode: solo
        steps:
          - say: Hello {a}.
          - say: Hello {speaker}.
        """
    )
    assert problems(path) == [
        (5, "{a} names a partner; it needs 'mode: couple'"),
        (6, "{speaker} only has a meaning inside a turns step"),
    ]


def test_turns_need_couple_mode_a_b_order_and_steps_and_cannot_nest(write_script):
    path = write_script(
        """
        title: T
        summary: S
        mode: couple
        steps:
          - turns: [a, c]
            steps:
              - turns: [a, b]
                steps: [bell]
          - turns: [a, b]
        """
    )
    assert problems(path) == [
        (5, "turns takes [a, b], [b, a] or alternate: who speaks first"),
        (7, "turns cannot be nested inside turns"),
        (9, "turns needs 'steps': the steps each partner takes in turn"),
    ]


def test_yaml_anchors_and_aliases_are_refused(write_script):
    path = write_script(
        """
        title: T
        summary: S
        steps:
          - say: &words Hello there.
          - say: *words
        """
    )
    assert problems(path) == [(4, "YAML anchors and aliases (&name, *name) are not allowed")]


def test_a_billion_laughs_file_is_refused_quickly(write_script):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
    assert problems(write_script("\n".join(lines))) == [
        (1, "YAML anchors and aliases (&name, *name) are not allowed")
    ]


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"title: T\nsummary: S\nsteps:\n  - say: caf\xe9\n")
    assert problems(path) == [(4, "not UTF-8 text; save the file as UTF-8")]


def test_over_one_megabyte(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"title: T\nsummary: S\nsteps:\n" + b"  - say: Hello there.\n" * 50_000)
    assert problems(path) == [(1, "file is 1,100,027 bytes; scripts are limited to 1 MB")]


def test_broken_yaml(write_script):
    found = problems(write_script("title: T\nsummary: S\nsteps:\n  - say: [unclosed\n"))
    assert len(found) == 1 and found[0][1].startswith("not valid YAML")


def test_python_tags_are_not_executed(write_script):
    path = write_script("title: !!python/object/apply:os.system ['echo hacked']\nsummary: S\nsteps: [bell]\n")
    assert problems(path)[0][0] == 1


def test_empty_file(write_script):
    assert problems(write_script("")) == [(1, "the file is empty; a script needs title, summary and steps")]


def test_say_with_only_silences(write_script):
    path = write_script("title: T\nsummary: S\nsteps:\n  - say: '[2s] [3s]'\n")
    assert problems(path) == [(4, "say text has only silences and no words; use a pause step")]


def test_a_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufefftitle: T\nsummary: S\nsteps: [bell]\n".encode())
    assert load_session(path).title == "T"


def test_unknown_session_name():
    with pytest.raises(SessionNotFound) as info:
        find_script("no-such-thing")
    assert str(info.value) == "no session named 'no-such-thing' (see 'guided list')"


def test_bundled_ids_and_paths_resolve(write_script):
    assert find_script("arriving").name == "arriving.yaml"
    path = write_script(GOOD)
    assert find_script(str(path)) == path


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "3601"])
def test_durations_out_of_range(write_script, value):
    path = write_script(f"title: T\nsummary: S\nsteps:\n  - pause: '{value}'\n")
    assert problems(path) == [(4, f"pause of '{value}' is out of range: more than 0 and at most 60m")]


def test_a_section_name_cannot_hold_a_silence(write_script):
    path = write_script("title: T\nsummary: S\nsteps:\n  - section: Start [2s]\n  - say: Hello.\n")
    assert problems(path) == [(4, "a section name is not spoken, so it cannot hold a silence like [2s]")]


def test_turns_can_alternate_and_announce_and_respond_belongs_inside_turns(write_script):
    path = write_script(
        """
        title: T
        summary: S
        mode: couple
        steps:
          - turns: alternate
            announce: true
            steps:
              - talk: 1m
              - respond: 20s
              - respond: 15s
                prompt: "{listener}, thank {speaker}."
          - turns: [b, a]
            steps: [bell]
        """
    )
    session = load_session(path)
    alternate, fixed = session.steps
    assert alternate.order == () and alternate.announce
    assert fixed.order == ("b", "a") and not fixed.announce
    default, written = alternate.steps[1], alternate.steps[2]
    assert (default.kind, default.seconds, default.text) == ("respond", 20.0, "{listener}, tell {speaker} what you heard.")
    assert (written.seconds, written.text) == (15.0, "{listener}, thank {speaker}.")


def test_respond_needs_turns_and_announce_needs_true_or_false(write_script):
    path = write_script(
        """
        title: T
        summary: S
        mode: couple
        steps:
          - respond: 20s
          - turns: sometimes
            announce: loudly
            steps:
              - respond: never
        """
    )
    assert problems(path) == [
        (5, "respond steps belong inside a turns step: the listener answers the speaker"),
        (6, "turns takes [a, b], [b, a] or alternate: who speaks first"),
        (7, "announce takes true or false, not 'loudly'"),
        (9, "respond needs a duration like 45s, 2m or 1m30s, not 'never'"),
    ]


def test_respond_is_couple_only(write_script):
    path = write_script("title: T\nsummary: S\nsteps:\n  - respond: 20s\n")
    assert (4, "respond steps need 'mode: couple'") in problems(path)
