"""The bundled session library: valid, well paced, fair to both partners, careful, our own words."""

from __future__ import annotations

import re

import pytest
from conftest import needs_espeak
from shingles import copied_runs, runs, shingle_hash, stored_hashes

from player.cache import ClipCache, VoicedCache
from player.library import bundled_paths
from player.script import INLINE_BREAK, load_session
from player.speech import VoiceSettings, get_engine
from player.speech.render import render_missing
from player.timeline import TimingOptions, build_timeline, plan, play_steps, turn_orders

# id: (mode, shortest minutes, longest minutes)
LIBRARY = {
    "arriving": ("solo", 2, 4),
    "what-emotional-intimacy-is": ("solo", 5, 8),
    "two-familiar-stories": ("solo", 8, 12),
    "what-closeness-gives-us": ("couple", 12, 18),
    "where-the-fear-began": ("solo", 10, 15),
    "four-practices": ("couple", 20, 28),
    "daily-check-in": ("couple", 5, 7),
    "closer-step-by-step": ("couple", 25, 40),
    "noticing-my-own-distance": ("solo", 8, 12),
    "repair-after-a-fight": ("couple", 10, 15),
    "when-i-reach-out": ("solo", 8, 12),
    "aftercare-after-a-hard-talk": ("couple", 4, 6),
    "stress-reducing-conversation": ("couple", 15, 20),
    "long-distance-check-in": ("couple", 8, 12),
}
COUPLES = sorted(k for k, v in LIBRARY.items() if v[0] == "couple")
HOTLINE_DIGITS = ("18007997233", "88788")
# Words that name a key or a button: the player says which key does what, never the script.
KEY_WORDS = re.compile(r"\b(press|presses|pressing|space|spacebar|enter|key|keys|button|buttons|click|tap)\b", re.I)
NUMBER_WORDS = {"four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
                "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
                "eighteen": 18, "nineteen": 19, "twenty": 20}

SESSIONS = {path.stem: load_session(path) for path in bundled_paths()}


def spoken_texts(session):
    """Every text the listener hears, from every step, nested ones included."""

    def walk(steps):
        for step in steps:
            if step.kind in ("say", "reflect", "talk", "wait") and step.text:
                yield step.text
            yield from walk(step.steps)

    return list(walk(session.steps))


def leaf_steps(session):
    return [play.step for play in play_steps(session, TimingOptions())]


def test_the_library_is_complete():
    assert set(SESSIONS) == set(LIBRARY)
    assert len(SESSIONS) == 14 and len(COUPLES) >= 6
    for session_id, session in SESSIONS.items():
        assert session.mode == LIBRARY[session_id][0], session_id
        assert session.title and session.summary and session.tags, session_id


@pytest.fixture(scope="module")
def real_lengths(tmp_path_factory):
    """Each session's length in minutes with the real voice, and as `guided list` estimates it."""
    engine = get_engine("pyttsx3")
    try:
        voiced = VoicedCache(ClipCache(tmp_path_factory.mktemp("clips")), engine, VoiceSettings())
        lengths = {}
        for session_id, session in SESSIONS.items():
            estimate = build_timeline(session, TimingOptions(), 150)
            render_missing(voiced, estimate.sentences())
            exact = plan(session, TimingOptions(), voiced.settings.rate, voiced.frames)
            assert not exact.estimated
            lengths[session_id] = (exact.duration_s / 60, estimate.duration_s / 60)
        return lengths
    finally:
        engine.close()


@needs_espeak
@pytest.mark.parametrize("session_id", sorted(LIBRARY))
def test_length_with_the_real_voice_is_in_bounds_and_estimated_within_ten_percent(real_lengths, session_id):
    real, estimated = real_lengths[session_id]
    _, shortest, longest = LIBRARY[session_id]
    assert shortest <= real <= longest, f"{session_id} lasts {real:.1f} min"
    assert abs(estimated - real) / real < 0.10
    announced = re.search(r"takes about (\w+) minutes", " ".join(spoken_texts(SESSIONS[session_id])))
    if announced:  # a session that says how long it lasts says it truly, within a minute
        assert abs(NUMBER_WORDS[announced.group(1)] - real) <= 1.0, f"says {announced.group(1)}, lasts {real:.1f}"


def test_every_new_session_announces_its_length():
    for session_id in ("repair-after-a-fight", "when-i-reach-out", "aftercare-after-a-hard-talk",
                       "stress-reducing-conversation", "long-distance-check-in"):
        assert re.search(r"takes about (\w+) minutes", " ".join(spoken_texts(SESSIONS[session_id]))), session_id


@pytest.mark.parametrize("session_id", sorted(LIBRARY))
def test_pacing(session_id):
    session = SESSIONS[session_id]
    assert session.steps[0].kind == "section", "starts with a settling-in section"
    assert session.steps[-1].kind == "bell" and session.steps[-1].closing, "ends with the closing bell"
    for step in leaf_steps(session):
        if step.kind == "reflect":
            assert 30 <= step.seconds <= 90, step.line
        if step.kind == "talk":
            assert 30 <= step.seconds <= 180, step.line
        if step.kind == "respond":
            assert 10 <= step.seconds <= 60, f"line {step.line}: a listener's answer is short"
        if step.kind == "pause":
            assert step.seconds <= 10, f"line {step.line}: a long silence should be a reflect, with its bells"
        if step.kind in ("reflect", "talk") or (step.kind == "respond" and step.seconds > 15):
            # Every timed silence says how long it is and what to do.
            assert re.search(r"\b(seconds?|minutes?)\b", step.text, re.I), f"line {step.line}: {step.text!r}"


@pytest.mark.parametrize("session_id", sorted(LIBRARY))
def test_says_once_that_it_is_not_therapy(session_id):
    texts = spoken_texts(SESSIONS[session_id])
    assert sum(1 for t in texts if "not therapy" in t.lower() and "licensed" in t.lower()) == 1


def spoken_digits(text):
    """The digits the voice says: inline silences such as [1s] are not spoken."""
    return "".join(re.findall(r"\d", INLINE_BREAK.sub(" ", text)))


@pytest.mark.parametrize("session_id", sorted(LIBRARY))
def test_abuse_comes_with_the_hotline_and_leave_to_stop(session_id):
    texts = spoken_texts(SESSIONS[session_id])
    whole = " ".join(texts).lower()
    digits = [spoken_digits(t) for t in texts]
    if "abuse" in whole or session_id == "where-the-fear-began":
        for number in HOTLINE_DIGITS:
            assert any(number in d for d in digits), f"{session_id} lacks {number}"
        assert "national domestic violence hotline" in whole
        assert "stop" in whole


@pytest.mark.parametrize("session_id", sorted(LIBRARY))
def test_the_hotline_can_be_written_down_wherever_it_is_given(session_id):
    texts = spoken_texts(SESSIONS[session_id])
    digits = "|".join(spoken_digits(t) for t in texts)
    whole = " ".join(texts)
    for number in HOTLINE_DIGITS:
        if number in digits:
            assert digits.count(number) >= 2, f"{number} is said once"
    if HOTLINE_DIGITS[0] in digits:
        before_number = whole[: whole.index("8 0 0")].lower()
        assert "have something to write with" in before_number
        assert re.search(r"1, \[1s\] 8 0 0, \[1s\] 7 9 9, \[1s\] 7 2 3 3", whole), "groups with a pause between"
        assert "if you are in danger now, call 9 1 1" in whole.lower()


@pytest.mark.parametrize("session_id", COUPLES)
def test_every_couple_session_has_the_safety_line_the_hotline_and_a_way_out(session_id):
    whole = " ".join(spoken_texts(SESSIONS[session_id])).lower()
    assert "feel safe with each other" in whole
    assert re.search(r"never means accepting being hurt (or|, or being) frightened", whole)
    assert "national domestic violence hotline" in whole
    assert re.search(r"either of you can [^.]*\bpass\b[^.]*\bstop\b[^.]*(without giving|need to give) a reason", whole)


@pytest.mark.parametrize("session_id", sorted(LIBRARY))
def test_no_session_names_a_key(session_id):
    session = SESSIONS[session_id]
    named = [t for t in [session.title, session.summary, *spoken_texts(session)] if KEY_WORDS.search(t)]
    assert named == []


def test_where_the_fear_began_warns_of_abuse_before_any_reflection():
    steps = leaf_steps(SESSIONS["where-the-fear-began"])
    first_warning = next(i for i, s in enumerate(steps) if "abuse" in s.text.lower())
    first_reflect = next(i for i, s in enumerate(steps) if s.kind == "reflect")
    assert first_warning < first_reflect
    assert steps[first_warning].line < 15


def test_one_of_the_two_stories_reverses_who_reaches_out():
    whole = " ".join(spoken_texts(SESSIONS["two-familiar-stories"]))
    assert "he gathers his courage and tells her" in whole and "she tries" in whole.lower()


@pytest.mark.parametrize("session_id", COUPLES)
def test_couple_sessions_give_both_partners_the_same_time(session_id):
    session = SESSIONS[session_id]
    options = TimingOptions(partner_a="Alpha", partner_b="Beta")
    talk = {"Alpha": 0.0, "Beta": 0.0}
    for play in play_steps(session, options):
        if play.step.kind == "talk" and "speaker" in play.roles:
            talk[play.roles["speaker"]] += play.step.seconds
    assert talk["Alpha"] == talk["Beta"] > 0
    rules = " ".join(spoken_texts(session)[:8]).lower()
    assert "listen" in rules and ("pause" in rules or "pass" in rules), "ground rules are spoken at the start"


@pytest.mark.parametrize("first", ["a", "b"])
@pytest.mark.parametrize("session_id", COUPLES)
def test_each_partner_begins_as_many_turns_as_the_other_give_or_take_one(session_id, first):
    orders = turn_orders(SESSIONS[session_id], first)
    begun = [begins for begins, _ in orders]
    assert orders and abs(begun.count("a") - begun.count("b")) <= 1, begun
    assert begun[0] == first


@pytest.mark.parametrize("session_id", COUPLES)
def test_the_listener_answers_after_each_disclosure_and_the_player_hands_over(session_id):
    turns = [step for step in SESSIONS[session_id].steps if step.kind == "turns"]
    for block in turns:
        kinds = [inner.kind for inner in block.steps]
        assert block.announce, f"line {block.line}: the player says whose turn it is"
        assert "talk" in kinds and "respond" in kinds[kinds.index("talk"):], f"line {block.line}"
        own = " ".join(inner.text for inner in block.steps).lower()
        assert "it is your turn to speak" not in own


@pytest.mark.parametrize("session_id", COUPLES)
def test_the_roles_are_said_in_full_at_most_once_a_section(session_id):
    timeline = build_timeline(SESSIONS[session_id], TimingOptions(partner_a="Alpha", partner_b="Beta"), 150)
    full = [e.section for e in timeline.events if e.kind == "say" and e.text.endswith("it is your turn to speak.")]
    assert full and len(full) == len(set(full))


def test_hard_conversations_close_with_aftercare():
    for session_id in ("closer-step-by-step", "four-practices", "repair-after-a-fight",
                       "stress-reducing-conversation", "aftercare-after-a-hard-talk"):
        whole = " ".join(spoken_texts(SESSIONS[session_id])).lower()
        assert re.search(r"stays? between (the two of )?you", whole), session_id
        assert re.search(r"(later|another) (argument|as a weapon)|in a later argument|later in an argument|"
                         r"as a weapon|ammunition in a later argument", whole), session_id


def test_the_long_distance_check_in_needs_no_keyboard():
    session = SESSIONS["long-distance-check-in"]
    assert all(play.step.kind != "wait" for play in play_steps(session, TimingOptions()))


def test_copied_runs_are_found_by_their_hashes():
    ours = "we wrote these nine words ourselves for this one test today"
    hashes = {shingle_hash(run) for run in runs(ours)}
    assert copied_runs("before " + ours + " after", hashes) == [" ".join(run) for run in runs(ours)]
    assert copied_runs("we wrote these nine words ourselves for this", set()) == []
    assert len(stored_hashes()) > 1500


@pytest.mark.parametrize("session_id", sorted(LIBRARY))
def test_no_run_of_eight_words_from_the_article(session_id):
    session = SESSIONS[session_id]
    assert copied_runs(" ".join([session.title, session.summary, *spoken_texts(session)]), stored_hashes()) == []
