"""Every bundled and test script, mutated: no traceback, and whatever validates renders."""

from __future__ import annotations

import random

from fuzzing import SOURCES, fake_voiced, mutate, outcome, write_mutant
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(SOURCES), seed=st.integers(0, 2**32 - 1))
def test_a_mutated_script_is_refused_or_renders(tmp_path, source, seed):
    text = mutate(source.read_text(encoding="utf-8"), random.Random(seed))
    result = outcome(write_mutant(tmp_path, source, text), fake_voiced(tmp_path / "clips"))
    assert result in ("refused", "rendered"), f"{source.name} seed {seed}:\n{result}"


def test_every_source_renders_as_it_is(tmp_path):
    voiced = fake_voiced(tmp_path / "clips")
    assert {s.name: outcome(s, voiced) for s in SOURCES} == {s.name: "rendered" for s in SOURCES}
