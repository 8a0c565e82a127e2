"""Partner names spoken right by every engine: shown as typed, said as the person wants."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner
from conftest import needs_espeak

from player.cli import cli
from player.names import for_the_ear, spoken_name
from player.script import load_session
from player.timeline import TimingOptions, build_timeline

COUPLE = """\
title: Names
summary: Names that engines get wrong.
mode: couple
steps:
  - say: Welcome, {a} and {b}. {a}, take a breath.
  - section: With {b}
  - turns: [a, b]
    steps:
      - say: "{speaker}, speak. {listener}, listen. [2s] Thank you, {speaker}."
"""
HARD_NAMES = ["Siobhan", "Nguyen", "Zoë", "Jean-Luc", "SAM", "MARY-JO", "J. R. Smith"]


def _say_events(path, **options):
    timeline = build_timeline(load_session(path), TimingOptions(**options), 150)
    return [e for e in timeline.events if e.kind == "say"]


@pytest.mark.parametrize("name", HARD_NAMES)
def test_a_name_keeps_its_letters_on_screen_and_in_captions(write_script, name):
    events = _say_events(write_script(COUPLE), partner_a=name, partner_b="Alex")
    assert events[0].text == f"Welcome, {name} and Alex. {name}, take a breath."
    assert events[0].captions == (f"Welcome, {name} and Alex.", f"{name}, take a breath.")
    assert len(events[0].sentences) == len(events[0].captions) == 2  # a name's dots end no sentence
    assert all(name in " ".join(e.captions) or "Alex" in " ".join(e.captions) for e in events)


def test_the_voice_says_the_override_and_the_screen_shows_the_name(write_script):
    events = _say_events(write_script(COUPLE), partner_a="Jean-Luc", partner_b="Siobhan",
                         say_a="zhahn-luke", say_b="shiv-awn")
    first = events[0]
    assert first.text == "Welcome, Jean-Luc and Siobhan. Jean-Luc, take a breath."
    assert first.sentences == ("Welcome, zhahn-luke and shiv-awn.", "zhahn-luke, take a breath.")
    # in turns too: whoever speaks is said as they should be, and shown as typed
    turns = events[1:]
    assert turns[0].text == "Jean-Luc, speak. Siobhan, listen."
    assert turns[0].sentences == ("zhahn-luke, speak.", "shiv-awn, listen.")
    assert turns[-1].captions == ("Thank you, Siobhan.",) and turns[-1].sentences == ("Thank you, shiv-awn.",)


def test_a_scripts_pronounce_mapping_and_the_command_line_winning(write_script):
    path = write_script(COUPLE.replace("steps:\n", "pronounce:\n  siobhan: shiv-awn\n  Nguyen: win\nsteps:\n", 1))
    first = _say_events(path, partner_a="Siobhan", partner_b="NGUYEN")[0]
    assert first.sentences[0] == "Welcome, shiv-awn and win."  # any case of the name
    assert first.captions[0] == "Welcome, Siobhan and NGUYEN."
    first = _say_events(path, partner_a="Siobhan", partner_b="Nguyen", say_a="shi-vawn")[0]
    assert first.sentences[0] == "Welcome, shi-vawn and win."


def test_capitals_are_said_as_a_word_and_initials_stay_letters():
    assert for_the_ear("SAM") == "Sam"
    assert for_the_ear("MARY-JO") == "Mary-Jo"
    assert for_the_ear("ZOË") == "Zoë"
    assert for_the_ear("DJ") == "DJ"
    assert for_the_ear("shiv-AWN") == "shiv-Awn"
    assert spoken_name("Jean-Luc") == "Jean-Luc"
    assert spoken_name("Jean-Luc", pronounce={"jean-luc": "zhahn-luke"}) == "zhahn-luke"


@needs_espeak
def test_espeak_spells_out_capitals_and_does_not_after_we_respell(write_script):
    """The real engine: a name in capitals is read as letters (phonemes with stresses between
    them); what our voice is given is read as one name."""
    def phonemes(text):
        return subprocess.run(["espeak-ng", "-q", "-x", text], capture_output=True, text=True, check=True).stdout

    assert phonemes("Hello SAM, welcome.").count(",") >= 2  # S, A, M: read as letters
    said = _say_events(write_script(COUPLE), partner_a="SAM", partner_b="Alex")[0].sentences[0]
    assert said == "Welcome, Sam and Alex."
    assert phonemes(said) == phonemes("Welcome, Sam and Alex.") != phonemes("Welcome, SAM and Alex.")
    # and an override changes what is heard: Jean-Luc said the English way, then the French way
    assert phonemes("zhahn-luke") != phonemes("Jean-Luc")


def test_the_clip_is_made_of_the_spoken_name_and_captions_show_the_typed_one(write_script, fake_engine, tmp_path):
    path = write_script(COUPLE)
    captions = tmp_path / "names.vtt"
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "names.wav"), "--captions",
                                      str(captions), "--partner-a", "Jean-Luc", "--say-a", "zhahn-luke",
                                      "--partner-b", "SIOBHAN"])
    assert result.exit_code == 0, result.output
    assert "Welcome, zhahn-luke and Siobhan." in fake_engine.texts
    assert not any("Jean-Luc" in text or "SIOBHAN" in text for text in fake_engine.texts)
    vtt = captions.read_text(encoding="utf-8")
    assert "Welcome, Jean-Luc and SIOBHAN." in vtt and "zhahn" not in vtt


def test_show_displays_names_as_typed(write_script, fake_engine):
    result = CliRunner().invoke(cli, ["show", str(write_script(COUPLE)), "--partner-a", "Zoë", "--say-a", "zo-ee"])
    assert result.exit_code == 0
    assert "Welcome, Zoë and Partner B." in result.output and "zo-ee" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--say-a", "x" * 41], "a pronunciation is 1 to 40 characters, not 41"),
    (["--say-b", "  "], "a pronunciation is 1 to 40 characters, not 0"),
])
def test_a_bad_pronunciation_is_one_line(write_script, fake_engine, args, message):
    result = CliRunner().invoke(cli, ["show", str(write_script(COUPLE)), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_bad_pronounce_mapping_is_a_script_problem_with_its_line(write_script):
    from player.errors import ScriptError

    path = write_script(COUPLE.replace("steps:\n", "pronounce: [Siobhan]\nsteps:\n", 1))
    with pytest.raises(ScriptError, match=r"session.yaml:4: pronounce must map names to how they are said"):
        load_session(path)


def test_a_respond_step_says_names_as_the_rest_does(write_script):
    from player.script import load_session
    from player.timeline import TimingOptions, build_timeline

    script = write_script("title: T\nsummary: S\nmode: couple\nsteps:\n  - turns: [a, b]\n    steps:\n"
                          "      - talk: 10s\n      - respond: 5s\n        prompt: \"{listener}, thank {speaker}.\"\n")
    timeline = build_timeline(load_session(script), TimingOptions(partner_a="SAM", partner_b="Jean", say_a="sahm"), 150)
    said = [s for e in timeline.events for s in e.sentences if "thank" in s]
    shown = [c for e in timeline.events for c in e.captions if "thank" in c]
    assert said == ["Jean, thank sahm.", "sahm, thank Jean."] and shown == ["Jean, thank SAM.", "SAM, thank Jean."]
