"""Every bundled and test script, mutated: no traceback, and whatever validates renders."""

from __future__ import annotations

import random

from fuzzing import SOURCES, fake_voiced, mutate, outcome, write_mutant
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player.library import load_script
from player.spoken import removed_symbols
from player.timeline import TimingOptions, build_timeline


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(SOURCES), seed=st.integers(0, 2**32 - 1))
def test_a_mutated_script_is_refused_or_renders(tmp_path, source, seed):
    text = mutate(source.read_text(encoding="utf-8"), random.Random(seed))
    result = outcome(write_mutant(tmp_path, source, text), fake_voiced(tmp_path / "clips"))
    assert result in ("refused", "rendered"), f"{source.name} seed {seed}:\n{result}"


def test_no_source_gives_the_voice_markup_or_nothing_to_say():
    for source in SOURCES:
        timeline = build_timeline(load_script(source).session, TimingOptions(), 150)
        sentences = timeline.sentences()
        assert sentences and timeline.length > 0, source.name
        assert [s for s in sentences if removed_symbols(s) or not s.strip()] == [], source.name
