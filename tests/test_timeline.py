"""Timeline maths: the order of events, their lengths in samples, names, scaling."""

from __future__ import annotations

import pytest

from player.errors import BadName, StartNotFound
from player.script import load_session
from player.timeline import (
    BELL_S,
    HANDOFF,
    PASSAGE_TAIL_S,
    ROLES_IN_FULL,
    SAMPLE_RATE,
    SENTENCE_GAP_S,
    TimingOptions,
    build_timeline,
    check_name,
    seconds_to_samples,
    split_sentences,
    turn_orders,
)

COUPLE = """
title: T
summary: S
mode: couple
steps:
  - section: Start
  - say: Hello {a} and {b}. [2s] Sit together.
  - reflect: 30s
    prompt: Think.
  - talk: 3m
    prompt: Talk, {a}.
  - turns: [b, a]
    steps:
      - section: Turn
      - talk: 1m
        prompt: "{speaker}, speak to {listener}."
  - wait: Ready?
    fallback: 20s
  - bell: end
"""


def one_second_per_sentence(sentence):
    return SAMPLE_RATE


def shape(timeline):
    return [(e.step, e.kind, e.purpose or e.bell or "", e.text) for e in timeline.events]


def test_every_step_becomes_its_events_in_order(write_script):
    session = load_session(write_script(COUPLE))
    options = TimingOptions(partner_a="Sam", partner_b="Alex")
    timeline = build_timeline(session, options, 150, one_second_per_sentence)
    assert shape(timeline) == [
        (1, "section", "", "Start"),
        (2, "say", "", "Hello Sam and Alex."),
        (2, "silence", "break", ""),
        (2, "say", "", "Sit together."),
        (3, "say", "", "Think."),
        (3, "bell", "soft", ""),
        (3, "silence", "reflect", ""),
        (3, "bell", "soft", ""),
        (4, "say", "", "Talk, Sam."),
        (4, "bell", "soft", ""),
        (4, "silence", "talk", ""),
        (4, "bell", "soft", ""),
        (5, "section", "", "Turn"),
        (6, "say", "", "Alex, speak to Sam."),
        (6, "bell", "soft", ""),
        (6, "silence", "talk", ""),
        (6, "bell", "soft", ""),
        (7, "section", "", "Turn"),
        (8, "say", "", "Sam, speak to Alex."),
        (8, "bell", "soft", ""),
        (8, "silence", "talk", ""),
        (8, "bell", "soft", ""),
        (9, "say", "", "Ready?"),
        (9, "silence", "wait", ""),
        (10, "bell", "end", ""),
    ]
    assert timeline.step_count == 10 and not timeline.estimated
    assert [e.section for e in timeline.events][-1] == "Turn"


def test_starts_follow_lengths_exactly(write_script):
    timeline = build_timeline(load_session(write_script(COUPLE)), TimingOptions(), 150, one_second_per_sentence)
    clock = 0
    for event in timeline.events:
        assert event.start == clock
        clock = event.end
    assert timeline.length == clock


def test_lengths_of_silences_bells_and_speech(write_script):
    timeline = build_timeline(load_session(write_script(COUPLE)), TimingOptions(), 150, one_second_per_sentence)
    events = timeline.events
    assert events[2].length == 2 * SAMPLE_RATE  # the [2s] break
    assert events[1].length == SAMPLE_RATE + seconds_to_samples(PASSAGE_TAIL_S)  # one sentence
    assert events[5].length == seconds_to_samples(BELL_S["soft"])
    assert events[6].length == 30 * SAMPLE_RATE
    assert events[-1].length == seconds_to_samples(BELL_S["end"])
    assert events[-2].length == 20 * SAMPLE_RATE  # wait uses its fallback


def test_a_passage_of_several_sentences_has_breaths_between(write_script):
    path = write_script("title: T\nsummary: S\nsteps:\n  - say: One. Two! Three?\n")
    timeline = build_timeline(load_session(path), TimingOptions(), 150, one_second_per_sentence)
    (event,) = timeline.events
    assert event.sentences == ("One.", "Two!", "Three?")
    assert event.length == 3 * SAMPLE_RATE + 2 * seconds_to_samples(SENTENCE_GAP_S) + seconds_to_samples(PASSAGE_TAIL_S)


def test_a_soft_cue_one_minute_before_the_end_of_long_talks_only(write_script):
    timeline = build_timeline(load_session(write_script(COUPLE)), TimingOptions(), 150, one_second_per_sentence)
    talks = [e for e in timeline.events if e.purpose == "talk"]
    assert talks[0].cues == (120 * SAMPLE_RATE,)  # a 3-minute talk: cue at 2:00
    assert talks[1].cues == () and talks[2].cues == ()  # 1-minute talks: none


def test_pause_scale_stretches_silences_not_speech(write_script):
    session = load_session(write_script(COUPLE))
    normal = build_timeline(session, TimingOptions(), 150, one_second_per_sentence)
    half = build_timeline(session, TimingOptions(pause_scale=0.5), 150, one_second_per_sentence)
    for a, b in zip(normal.events, half.events):
        if a.kind == "silence":
            assert b.length == round(a.length / 2)
        else:
            assert b.length == a.length
    assert half.events[10].cues == ()  # 90 s of talk is under 2 minutes: no cue


def test_names_are_replaced_literally_never_interpreted(write_script):
    session = load_session(write_script(COUPLE))
    odd = TimingOptions(partner_a="{__class__}", partner_b="$(id) {b}")
    timeline = build_timeline(session, odd, 150, one_second_per_sentence)
    assert timeline.events[1].text == "Hello {__class__} and $(id) {b}."
    assert timeline.events[13].text == "$(id) {b}, speak to {__class__}."


def test_estimated_when_a_clip_is_missing(write_script):
    session = load_session(write_script(COUPLE))
    timeline = build_timeline(session, TimingOptions(), 150)
    assert timeline.estimated
    slower = build_timeline(session, TimingOptions(), 100)
    assert slower.events[1].length > timeline.events[1].length


def test_json_has_the_documented_shape(write_script):
    timeline = build_timeline(load_session(write_script(COUPLE)), TimingOptions(), 150, one_second_per_sentence)
    data = timeline.to_json()
    assert set(data) == {"id", "title", "mode", "duration_s", "estimated", "events"}
    assert data["id"] == "session" and data["estimated"] is False
    assert set(data["events"][0]) == {"step", "kind", "purpose", "section", "start_s", "duration_s", "text", "cues",
                                      "speaker", "listener"}
    assert data["events"][0]["speaker"] is None
    talks = [e for e in data["events"] if e["purpose"] == "talk" and e["speaker"]]
    assert [(e["speaker"], e["listener"]) for e in talks] == [("b", "a"), ("a", "b")]
    assert data["events"][10]["cues"] == [120.0]
    assert data["duration_s"] == round(timeline.length / SAMPLE_RATE, 3)


def test_sentences_are_listed_once_in_order(write_script):
    path = write_script("title: T\nsummary: S\nsteps:\n  - say: Breathe. Rest.\n  - say: Breathe.\n")
    assert build_timeline(load_session(path), TimingOptions(), 150).sentences() == ["Breathe.", "Rest."]


def test_long_sentences_are_cut_below_the_engine_limit():
    words = " ".join(["word"] * 900) + "."
    pieces = split_sentences(words)
    assert len(pieces) > 1 and all(len(p) <= 400 for p in pieces)
    assert " ".join(pieces).split() == words.split()


def test_names_are_checked():
    assert check_name("  Sam ") == "Sam"
    for bad in ["", "x" * 41, "tab\there"]:
        with pytest.raises(BadName):
            check_name(bad)


def test_a_name_holding_a_silence_cue_is_spoken_not_obeyed(write_script):
    session = load_session(write_script(COUPLE))
    timeline = build_timeline(session, TimingOptions(partner_a="Sam [2s] x"), 150, one_second_per_sentence)
    assert timeline.events[1].text == "Hello Sam [2s] x and Partner B."
    assert [e.purpose for e in timeline.events[:4]] == [None, None, "break", None]


def test_fitting_to_minutes_scales_only_the_silences(write_script):
    from dataclasses import replace

    from player.errors import FitError
    from player.timeline import fit_pause_scale

    session = load_session(write_script(COUPLE))
    natural = build_timeline(session, TimingOptions(), 150, one_second_per_sentence)
    silences = sum(e.length for e in natural.events if e.kind == "silence")
    target = (natural.length - silences / 2) / SAMPLE_RATE / 60
    scale = fit_pause_scale(natural, target)
    assert abs(scale - 0.5) < 1e-9
    fitted = build_timeline(session, replace(TimingOptions(), pause_scale=scale), 150, one_second_per_sentence)
    assert abs(fitted.duration_s - target * 60) < 0.01
    try:
        fit_pause_scale(natural, 1)
    except FitError as exc:
        assert str(exc).startswith("session cannot last 1 minutes: with its speech unchanged it can last from ")
    else:
        raise AssertionError("an impossible length was accepted")


def test_find_start_by_step_or_section(write_script):
    from player.timeline import find_start

    timeline = build_timeline(load_session(write_script(COUPLE)), TimingOptions(), 150, one_second_per_sentence)
    assert find_start(timeline, "4") == 4
    assert find_start(timeline, "turn") == 5
    for bad, message in [("11", "--from: there is no step 11: session has 10 steps"),
                         ("Middle", "--from: no step or section 'Middle' in session (sections: Start, Turn)")]:
        with pytest.raises(StartNotFound) as info:
            find_start(timeline, bad)
        assert str(info.value) == message


TURNS = """
title: T
summary: S
mode: couple
steps:
  - section: One
  - turns: alternate
    announce: true
    steps:
      - talk: 1m
        prompt: "Speak, {speaker}."
      - respond: 20s
  - turns: alternate
    announce: true
    steps:
      - talk: 1m
  - turns: [b, a]
    steps:
      - talk: 1m
  - section: Two
  - turns: alternate
    announce: true
    steps:
      - talk: 1m
  - bell: end
"""


def test_alternate_swaps_who_begins_and_first_b_mirrors_every_block(write_script):
    session = load_session(write_script(TURNS))
    assert turn_orders(session) == [("a", "b"), ("b", "a"), ("b", "a"), ("a", "b")]
    assert turn_orders(session, "b") == [("b", "a"), ("a", "b"), ("a", "b"), ("b", "a")]
    timeline = build_timeline(session, TimingOptions(first="b"), 150, one_second_per_sentence)
    talks = [(e.speaker, e.listener) for e in timeline.events if e.purpose == "talk"]
    assert talks == [("b", "a"), ("a", "b"), ("a", "b"), ("b", "a"), ("a", "b"), ("b", "a"), ("b", "a"), ("a", "b")]


def test_roles_are_said_in_full_once_a_section_then_only_the_name(write_script):
    session = load_session(write_script(TURNS))
    timeline = build_timeline(session, TimingOptions(partner_a="Sam", partner_b="Alex"), 150, one_second_per_sentence)
    said = [e.text for e in timeline.events if e.kind == "say" and e.line in (6, 12, 20)]
    assert said == [
        "Sam, it is your turn to speak.", "Alex, your part is to listen.",
        "Now, Alex.", "Now, Alex.", "Now, Sam.",
        "Sam, it is your turn to speak.", "Alex, your part is to listen.", "Now, Alex.",
    ]
    assert ROLES_IN_FULL.startswith("{speaker}") and HANDOFF == "Now, {speaker}."


def test_respond_is_the_listener_answering(write_script):
    session = load_session(write_script(TURNS))
    timeline = build_timeline(session, TimingOptions(partner_a="Sam", partner_b="Alex"), 150, one_second_per_sentence)
    events = [e for e in timeline.events if e.line == 11]
    assert [(e.kind, e.purpose or e.bell) for e in events[:3]] == [("say", None), ("silence", "respond"), ("bell", "soft")]
    assert events[0].text == "Alex, tell Sam what you heard."
    assert events[1].length == 20 * SAMPLE_RATE
    assert (events[1].speaker, events[1].listener, events[1].speaker_name) == ("b", "a", "Alex")
    assert timeline.to_json()["events"][timeline.events.index(events[1])]["speaker"] == "b"
