"""guided serve: the server's rules over real HTTP, and the page played in a real Chromium.

The server runs in a thread on 127.0.0.1 with the fake engine (tones, fast); every request goes
to 127.0.0.1 only. Browser tests are `slow` and skip where Debian's chromium or Playwright is
missing; they drive /usr/bin/chromium (Playwright downloads no browser here).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, FakeEngine

from player import app, web
from player.app import page

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

COUPLE = """\
title: Sofa test
summary: A short couple script for the page's tests.
mode: couple
steps:
  - section: Opening
  - say: "Hello {a} and {b}."
  - pause: 1s
  - section: Turns
  - turns: [a, b]
    steps:
      - say: "{speaker}, your turn."
      - wait: "Press continue."
        fallback: 1s
  - section: Quiet
  - pause: 2s
  - say: "The end."
"""
TOKEN = "test-token-123"


def fake_engines(name="pyttsx3", state_dir=None, threads=None):
    return FakeEngine()


@pytest.fixture
def couple_script(write_script):
    return write_script(COUPLE, "sofa-test.yaml")


@contextlib.contextmanager
def running(site: web.Site):
    """The app on a free port of 127.0.0.1, in a thread, until the block ends."""
    sock = web.bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(web.make_app(site), log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)
        site.close_plays()
        sock.close()


@pytest.fixture
def serve_site(tmp_path, couple_script):
    """Start a server over the bundled sessions and the couple test script."""

    @contextlib.contextmanager
    def start(token: str | None = None, remember_names: bool = False):
        workspace = app.Workspace(tmp_path / "cache", fake_engines)
        site = web.Site(workspace, page.offered_sessions(workspace, [couple_script]), app.Voicing(), token,
                        remember_names)
        with running(site) as url:
            yield url, site

    return start


def call(url: str, body: dict | None = None, headers: dict | None = None, data: bytes | None = None):
    """(status, headers, body bytes) of one request; never raises for an HTTP status."""
    if body is not None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def ready_job(url: str, session: str, **names) -> dict:
    status, _, body = call(url + "api/prepare", {"session": session, **names})
    assert status == 200, body
    job = json.loads(body)["job"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = json.loads(call(url + f"api/jobs/{job}")[2])
        if found["phase"] in ("ready", "failed"):
            return {"job": job, **found}
        time.sleep(0.05)
    raise AssertionError("the render did not finish")


# ── The server, over HTTP ──

def test_library_lists_bundled_and_named_scripts(serve_site):
    with serve_site() as (url, _):
        status, headers, body = call(url + "api/sessions")
    ids = [s["id"] for s in json.loads(body)]
    assert status == 200 and "arriving" in ids and "sofa-test" in ids
    assert "default-src 'none'" in headers["content-security-policy"]


def test_page_policy_allows_exactly_its_own_script_and_style(serve_site):
    with serve_site() as (url, _):
        status, headers, body = call(url)
    policy = headers["content-security-policy"]
    assert status == 200 and b"<script>" in body
    assert "'unsafe-inline'" not in policy and "script-src 'sha256-" in policy and "connect-src 'self'" in policy


def test_render_serves_the_export_sound_with_ranges(serve_site):
    with serve_site() as (url, site):
        job = ready_job(url, "sofa-test", partner_a="Sam", partner_b="Alex")
        assert job["phase"] == "ready"
        whole = call(url + job["audio"])
        part = call(url + job["audio"], headers={"Range": "bytes=100-199"})
        tail = call(url + job["audio"], headers={"Range": "bytes=-10"})
    assert whole[0] == 200 and whole[1]["accept-ranges"] == "bytes"
    assert part[0] == 206 and part[2] == whole[2][100:200]
    assert part[1]["content-range"] == f"bytes 100-199/{len(whole[2])}"
    assert tail[0] == 206 and tail[2] == whole[2][-10:]
    timeline = job["timeline"]
    frames = (len(whole[2]) - 44) // 2  # 16-bit mono after a 44-byte header
    assert abs(frames / 22050 - timeline["duration"]) < 0.01
    turns = [e for e in timeline["events"] if e["speaker"]]
    assert {(e["speaker"], e["listener"]) for e in turns} == {("Sam", "Alex"), ("Alex", "Sam")}


def test_a_second_play_of_the_same_is_not_rendered_again(serve_site):
    with serve_site() as (url, _):
        first = ready_job(url, "sofa-test")
        started = time.monotonic()
        second = ready_job(url, "sofa-test")
        warm = time.monotonic() - started
    assert first["audio"] == second["audio"] and warm < 1.0


def test_only_known_ids_reach_the_disk(serve_site):
    with serve_site() as (url, _):
        assert call(url + "api/prepare", {"session": "../../etc/passwd"})[0] == 404
        assert call(url + "audio/" + "0" * 64 + ".wav")[0] == 404
        assert call(url + "audio/..%2F..%2Fhistory.wav")[0] == 404
        assert call(url + "api/jobs/nope")[0] == 404
        assert call(url + "api/plays/12345", {"step": 1, "seconds": 1})[0] == 404


def test_requests_are_bounded_and_same_origin(serve_site):
    with serve_site() as (url, _):
        too_big = call(url + "api/prepare", {"session": "sofa-test", "partner_a": "x" * 5000})
        plain = call(url + "api/prepare", data=b'{"session": "sofa-test"}', headers={"Content-Type": "text/plain"})
        foreign = call(url + "api/prepare", {"session": "sofa-test"}, headers={"Origin": "http://evil.example"})
        rebinding = call(url, headers={"Host": "evil.example"})
        bad_name = call(url + "api/prepare", {"session": "sofa-test", "partner_a": "x" * 41})
    assert (too_big[0], plain[0], foreign[0], rebinding[0]) == (413, 415, 403, 403)
    assert bad_name[0] == 400 and b"1 to 40 characters" in bad_name[2]


def test_lan_mode_needs_the_token_on_every_request(serve_site):
    with serve_site(token=TOKEN) as (url, _):
        refused = [call(url + path)[0] for path in ("", "api/sessions", "audio/" + "0" * 64 + ".wav")]
        wrong = call(url + "?token=nope")[0]
        status, headers, _ = call(url + f"?token={TOKEN}")
        cookie = headers["set-cookie"].split(";")[0]
        with_cookie = call(url + "api/sessions", headers={"Cookie": cookie})[0]
    assert refused == [403, 403, 403] and wrong == 403
    assert status == 200 and "HttpOnly" in headers["set-cookie"] and with_cookie == 200


def test_plays_from_the_page_go_into_the_history_without_names(serve_site):
    with serve_site() as (url, _):
        job = ready_job(url, "sofa-test", partner_a="Sam", partner_b="Alex")
        play = json.loads(call(url + "api/plays", {"job": job["job"]})[2])["play"]
        assert call(url + f"api/plays/{play}", {"step": 3, "seconds": 4.5})[0] == 204
        assert call(url + f"api/plays/{play}", {"step": 4, "seconds": 6.0, "status": "stopped"})[0] == 204
        sessions = json.loads(call(url + "api/sessions")[2])
    latest = app.history(1).plays[0]
    assert (latest.session_id, latest.status, latest.last_step, latest.seconds_listened) == ("sofa-test", "stopped", 4, 6.0)
    assert latest.partner_a is None and latest.partner_b is None
    assert next(s for s in sessions if s["id"] == "sofa-test")["resume_step"] == 4


def test_names_are_kept_only_when_asked(serve_site):
    with serve_site(remember_names=True) as (url, _):
        job = ready_job(url, "sofa-test", partner_a="Sam", partner_b="Alex")
        json.loads(call(url + "api/plays", {"job": job["job"]})[2])
    # the server stopping records the open play as stopped, where it was
    latest = app.history(1).plays[0]
    assert (latest.partner_a, latest.partner_b, latest.status) == ("Sam", "Alex", "stopped")


# ── The page, in Chromium ──

CHROMIUM = "/usr/bin/chromium"
BROWSER_MARKS = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page; every request it makes is kept, to check none leaves the origin."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()


def start_session(page, title: str, names: tuple[str, str] = ("", "")):
    card = page.locator("article", has_text=title).first
    for label, name in zip(("Partner A", "Partner B"), names):
        if name:
            card.get_by_label(label).fill(name)
    card.get_by_role("button", name=f"Play {title}").click()
    wait_until(page, "window.guidedTimes.firstSound > 0", timeout=30000)


def wait_until(page, expression: str, timeout: float = 5000) -> None:
    """Poll a JS expression from outside (the page's policy forbids eval, so Playwright's
    wait_for_function cannot run in it)."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:g} s: {expression}")
        time.sleep(0.03)


def audio_state(page) -> dict:
    return page.evaluate("({t: document.getElementById('sound').currentTime, paused: document.getElementById('sound').paused})")


def timeline_of(url: str, session: str, **names) -> dict:
    return ready_job(url, session, **names)["timeline"]


def only_own_origin(page, url: str) -> None:
    foreign = [r for r in page.requests if not (r.startswith(url) or r.startswith("data:"))]
    assert page.requests and not foreign


def browser_test(test):
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@browser_test
def test_captions_turns_and_a_wait_that_holds_until_continue(serve_site, phone):
    with serve_site() as (url, _):
        phone.goto(url)
        phone.evaluate("""window.captionLog = [];
            new MutationObserver(() => window.captionLog.push([document.getElementById('sound').currentTime,
                document.getElementById('caption').textContent])).observe(document.getElementById('caption'),
                {childList: true, characterData: true, subtree: true});""")
        start_session(phone, "Sofa test", ("<b>Sam</b>", "Alex"))
        phone.locator("#continue").wait_for(state="visible", timeout=15000)
        timeline = timeline_of(url, "sofa-test", partner_a="<b>Sam</b>", partner_b="Alex")
        wait = next(e for e in timeline["events"] if e["purpose"] == "wait")
        time.sleep(1.0 + 1.0)  # past the 1 s fallback, and then some
        held = audio_state(phone)
        turn = phone.locator("#turn").text_content()
        bold = phone.locator("#player b").count()
        phone.get_by_role("button", name="Continue").click()
        wait_until(phone, f"document.getElementById('sound').currentTime > {wait['end'] + 0.2}", timeout=5000)
        log = phone.evaluate("window.captionLog")
        only_own_origin(phone, url)
    assert held["paused"] and wait["start"] - 0.01 <= held["t"] < wait["end"]
    assert turn == "<b>Sam</b> speaks · Alex listens" and bold == 0
    says = [e for e in timeline["events"] if e["kind"] == "say" and e["end"] <= wait["end"]]
    assert len(says) == 3
    for event in says:  # each caption appears within 0.25 s of its event's start on the sound's clock
        shown = next(t for t, text in log if text == event["text"])
        assert event["start"] - 0.05 <= shown <= event["start"] + 0.25, (event["text"], shown, event["start"])


@browser_test
def test_next_and_thirty_seconds_more(serve_site, phone):
    with serve_site() as (url, _):
        phone.goto(url)
        start_session(phone, "Sofa test")
        timeline = timeline_of(url, "sofa-test")
        before = audio_state(phone)["t"]
        current = next(e for e in timeline["events"] if e["kind"] != "section" and e["start"] <= before < e["end"])
        phone.keyboard.press("n")
        following = next(e for e in timeline["events"] if e["step"] > current["step"])
        after_next = audio_state(phone)["t"]
        # The page shows the new step on its next tick of the clock: at most a moment later.
        shown = f"Step {following['step']} of {timeline['step_count']}"
        wait_until(phone, f"document.getElementById('step').textContent.startsWith({json.dumps(shown)})", timeout=2000)
        step_text = phone.locator("#step").text_content()
        pause = next(e for e in timeline["events"] if e["purpose"] == "pause" and e["section"] == "Quiet")
        phone.get_by_role("button", name="Quiet").click()
        wait_until(phone, f"document.getElementById('sound').currentTime > {pause['start'] + 0.3}",
                                timeout=5000)
        phone.get_by_role("button", name="+30 s").click()
        time.sleep(1.2)
        held = audio_state(phone)
        countdown = phone.locator("#countdown").text_content()
        phone.get_by_role("button", name="Next").click()
        wait_until(phone, f"document.getElementById('sound').currentTime > {pause['end'] + 0.1}", timeout=5000)
        only_own_origin(phone, url)
    assert following["start"] <= after_next < following["start"] + 0.35
    assert step_text.startswith(f"Step {following['step']} of {timeline['step_count']}")
    assert held["paused"] and pause["start"] < held["t"] < pause["end"]
    minutes, seconds = map(int, countdown.split(":"))
    assert 30 < minutes * 60 + seconds <= 32


@browser_test
def test_lan_page_needs_its_token(serve_site, phone):
    with serve_site(token=TOKEN) as (url, _):
        refused = phone.goto(url)
        assert refused.status == 403
        phone.goto(url + f"?token={TOKEN}")
        phone.locator("article", has_text="Sofa test").wait_for()
        start_session(phone, "Sofa test")
        only_own_origin(phone, url)


@browser_test
def test_phone_width_has_no_sideways_scrolling(serve_site, phone, tmp_path):
    long_name = "W" * 40
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    with serve_site() as (url, _):
        phone.goto(url)
        phone.locator("article", has_text="Daily Check In").wait_for()
        in_library = phone.evaluate(overflow)
        widths = []
        for names in ((long_name, long_name), ("Sam", "Alex")):  # the second is the README's screenshot
            start_session(phone, "Daily Check In", names)
            timeline = timeline_of(url, "daily-check-in", partner_a=names[0], partner_b=names[1])
            talk = next(e for e in timeline["events"] if e["purpose"] == "talk")
            phone.evaluate(f"document.getElementById('sound').currentTime = {talk['start'] + 2}")
            wait_until(phone, "document.getElementById('countdown').textContent !== ''")
            widths.append(phone.evaluate(overflow))
            turn = phone.locator("#turn").text_content()
            if names[0] == "Sam":
                shot = tmp_path / "phone.png"
                phone.screenshot(path=str(shot))
            else:
                phone.get_by_role("button", name="← Sessions").click()
        only_own_origin(phone, url)
    assert in_library <= 0 and widths == [0, 0] and turn == "Sam speaks · Alex listens"
    assert shot.stat().st_size > 10_000
    if os.environ.get("GUIDED_DOCS_SCREENSHOT"):  # to refresh docs/phone.png: GUIDED_DOCS_SCREENSHOT=1
        shutil.copy(shot, ROOT / "docs" / "phone.png")


# ── Found in review ──

def test_a_loopback_host_other_than_127_0_0_1_is_answered_and_a_foreign_one_not(serve_site):
    with serve_site() as (url, _):
        port = url.rsplit(":", 1)[1].strip("/")
        other_loopback = call(url + "api/sessions", headers={"Host": f"127.0.0.2:{port}"})
        rebound = call(url + "api/sessions", headers={"Host": f"127.0.0.2.example:{port}"})
    assert (other_loopback[0], rebound[0]) == (200, 403)


def test_a_script_whose_file_name_has_spaces_and_dots_plays(tmp_path, write_script):
    workspace = app.Workspace(tmp_path / "cache", fake_engines)
    named = write_script(COUPLE, "my notes.v2.yaml")
    site = web.Site(workspace, page.offered_sessions(workspace, [named]), app.Voicing(), None, False)
    with running(site) as url:
        assert ready_job(url, "my notes.v2")["phase"] == "ready"
        assert call(url + "api/prepare", {"session": "../" * 40 + "etc/passwd"})[0] == 404


def test_in_a_respond_step_the_page_shows_the_listener_speaking(tmp_path):
    workspace = app.Workspace(tmp_path / "cache", fake_engines)
    offered = next(o for o in page.offered_sessions(workspace, []) if o.info.id == "daily-check-in")
    sound = page.page_sound(workspace, offered.path, app.Voicing(), app.Timing("Sam", "Alex"))
    events = sound.to_json()["events"]
    thanks = [e for e in events if e["kind"] == "say" and "thank you" in e["text"] and e["speaker"]]
    assert thanks and all(e["text"].startswith(e["speaker"]) for e in thanks), thanks
