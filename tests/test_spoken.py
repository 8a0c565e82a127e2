"""The words only: what every engine receives, and what validation refuses."""

from __future__ import annotations

import os

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from player.errors import ScriptError, SpeechError
from player.library import bundled_paths
from player.script import load_session, read_text, session_from_data
from player.speech import VoiceSettings
from player.speech.clips import make_clip
from player.spoken import removed_symbols, spoken_text
from player.timeline import TimingOptions, build_timeline, split_sentences


@pytest.mark.parametrize(
    "text, spoken",
    [("---", ""), (".", ""), ("…", ""), ("🌿", ""), ("* * *", ""), ("Hold it gently. *", "Hold it gently."),
     ("Feel it \\[ now", "Feel it now"), ("glad of ➡️ hold it", "glad of, hold it"),
     ("Stay for ~5 sec before.", "Stay for about 5 seconds before."), ("~2 min", "about 2 minutes"),
     ("Sit for 15-20 minutes.", "Sit for 15 to 20 minutes."), ("(1–2 minutes)", "(1 to 2 minutes)"),
     ("Call 1-800-799-7233.", "Call 1-800-799-7233."), ("🌿 Arriving", "Arriving"),
     ("**Breathe** in _slowly_", "Breathe in slowly"), ("Rest. ----", "Rest."),
     ("a [link](http://x.y) here", "a link here"), ("Zero\u200dwidth", "Zero width")],
)
def test_spoken_text(text, spoken):
    assert spoken_text(text) == spoken


def test_removed_symbols_names_what_was_taken_out():
    assert removed_symbols("glad ➡️ of *this* 🌿") == "➡*🌿"
    assert removed_symbols("Plain words, as ever.") == ""


def test_every_bundled_sentence_is_unchanged_so_cache_keys_stay():
    sentences = [s for p in bundled_paths() for e in build_timeline(load_session(p), TimingOptions(), 150).events
                 if e.kind == "say" for s in e.sentences]
    assert len(sentences) > 300
    assert [s for s in sentences if spoken_text(s) != s] == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_spoken_text_is_idempotent_and_never_only_punctuation(text):
    once = spoken_text(text)
    assert spoken_text(once) == once
    assert once == "" or any(c.isalnum() for c in once)


def test_sentences_with_nothing_to_pronounce_never_reach_the_voice():
    assert split_sentences("Breathe in. ---- . And out. 🌿") == ["Breathe in.", "And out."]


def test_make_clip_refuses_text_with_nothing_to_pronounce():
    from conftest import FakeEngine

    engine = FakeEngine()
    with pytest.raises(SpeechError, match="nothing to pronounce"):
        make_clip(engine, "---", VoiceSettings(), "fake/one")
    make_clip(engine, "Rest. *", VoiceSettings(), "fake/one")
    assert engine.texts == ["Rest."]


@pytest.mark.parametrize(
    "steps, message",
    [("  - say: \"---\"\n", "3: say text has nothing to pronounce ('---': only punctuation, markup or symbols)"),
     ("  - say: \"🌿 [2s] .\"\n", "3: say text has nothing to pronounce"),
     ("  - wait: \"…\"\n", "3: wait text has nothing to pronounce"),
     ("  - reflect: 10s\n    prompt: \"***\"\n", "4: prompt has nothing to pronounce"),
     ("  - section: Only a name\n", "3: nothing to hear: the steps are only sections")],
)
def test_validate_refuses_what_render_could_not_speak(tmp_path, steps, message):
    path = tmp_path / "s.yaml"
    path.write_text(f"title: T\nsteps:\n{steps}summary: S\n", encoding="utf-8")
    with pytest.raises(ScriptError) as info:
        load_session(path)
    assert f"{path}:{message}" in str(info.value)


def test_read_text_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait forever for a writer
    for path in (fifo, tmp_path, ROOT / "no-such-file.yaml"):
        with pytest.raises(ScriptError) as info:
            read_text(path)
        assert len(info.value.problems) == 1 and info.value.problems[0].line == 1
    assert "not a regular file" in str(pytest.raises(ScriptError, read_text, fifo).value)


def test_session_from_data_reports_the_lines_it_was_given(tmp_path):
    fields = {"title": "T", "summary": "S", "mode": "solo"}
    session = session_from_data(tmp_path / "x.md", fields, [(4, {"say": "Hello."}), (9, {"pause": "5s"}), (11, "bell")])
    assert [(s.kind, s.line) for s in session.steps] == [("say", 4), ("pause", 9), ("bell", 11)]
    with pytest.raises(ScriptError) as info:
        session_from_data(tmp_path / "x.md", fields, [(4, {"say": "---"}), (7, {"pause": "0s"})])
    assert [p.line for p in info.value.problems] == [4, 7]
