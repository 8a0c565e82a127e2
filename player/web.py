"""`guided serve`: the web page, a second thin face over player.app, for the phone on the sofa.

The server (Starlette on uvicorn, imported only when `serve` runs) offers the library, renders a
session whole through cases.page_sound (the export's renderer) on one background thread at a
time, serves the WAV with HTTP Range support, and records the page's plays through app. The page
(player/page/index.html, one file) drives captions, turns, waits and chapters from the timeline.

Privacy and safety: loopback by default; on the LAN a per-run secret token is needed by every
request (403 otherwise). Names come with each request and live only in memory (in the history
only with --remember-names); nothing with a name is logged (there is no access log). Only ids
this server made (sessions, renders, plays) reach the file system or the history.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import re
import secrets
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from player import app
from player.app import page as cases
from player.errors import GuidedError, ServeError

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "page" / "index.html"
DEFAULT_PORT = 8765
MAX_BODY = 2048  # bytes of a request body: two names and an id, with room to spare
JOBS_KEPT = 16  # renders remembered for the page to poll; older ones are forgotten
TOKEN_COOKIE = "guided_token"
STATUSES = ("stopped", "completed")
_SOUND = re.compile(r"[0-9a-f]{64}")


@dataclass
class Job:
    """One render the page asked for, polled until its sound is ready (or failed)."""

    offered: cases.Offered
    timing: app.Timing
    phase: str = "waiting"  # waiting | clips | sound | ready | failed
    done: int = 0
    total: int = 0
    sound: cases.PageSound | None = None
    message: str | None = None

    def to_json(self) -> dict:
        out = {"phase": self.phase, "done": self.done, "total": self.total}
        if self.message:
            out["message"] = self.message
        if self.sound is not None:
            out["timeline"] = self.sound.to_json()
            out["audio"] = f"audio/{self.sound.key}.wav"
        return out


@dataclass
class Site:
    """What one run of the server knows: the sessions it offers and what the page made."""

    workspace: app.Workspace
    offered: list[cases.Offered]
    voicing: app.Voicing
    token: str | None = None  # None: loopback only, no token needed
    remember_names: bool = False
    warn: Callable[[str], None] = lambda message: None
    jobs: OrderedDict[str, Job] = field(default_factory=OrderedDict)
    sounds: dict[str, Path] = field(default_factory=dict)
    plays: dict[int, tuple[int, float]] = field(default_factory=dict)  # open plays: last step, seconds
    rendering: threading.Lock = field(default_factory=threading.Lock)

    def session(self, session_id: str) -> cases.Offered | None:
        return next((o for o in self.offered if o.info.id == session_id), None)

    def start_job(self, offered: cases.Offered, timing: app.Timing) -> str:
        job_id = secrets.token_urlsafe(12)
        job = self.jobs[job_id] = Job(offered, timing)
        while len(self.jobs) > JOBS_KEPT:
            self.jobs.popitem(last=False)
        threading.Thread(target=self._render, args=(job,), name="page-render", daemon=True).start()
        return job_id

    def _render(self, job: Job) -> None:
        """Renders run one at a time: two phones asking at once share the cores in turn."""
        import contextlib

        @contextlib.contextmanager
        def progress(total: int, label: str):
            job.phase, job.done, job.total = ("clips" if label.startswith("Preparing") else "sound"), 0, total

            def update(n: int) -> None:
                job.done += n

            yield update

        try:
            with self.rendering:
                job.phase = "clips"
                sound = cases.page_sound(self.workspace, job.offered.path, self.voicing, job.timing, progress)
            self.sounds[sound.key] = sound.path
            job.sound, job.phase = sound, "ready"
        except GuidedError as exc:  # shown on the page only: it may hold a sentence, so a name
            job.phase, job.message = "failed", str(exc)
        except Exception as exc:  # never log the message: it may hold a name
            log.error("a render failed: %s", type(exc).__name__)
            job.phase, job.message = "failed", "the session could not be prepared; see the terminal with --debug"
            log.debug("render failure", exc_info=True)

    def warm_up(self) -> None:
        """Load the renderer's modules and start the engine once, in the background, so that the
        first Play of a warm session is not slowed by imports (about 2 s on a small machine)."""

        def load() -> None:
            try:
                import player.export  # noqa: F401  (numpy, soundfile, the audio stage)
                import player.history  # noqa: F401
                import player.speech.render  # noqa: F401

                engine = app.engine_name(self.workspace, self.voicing)
                self.workspace.engines(engine, state_dir=self.workspace.cache_dir).close()
            except Exception as exc:  # the first render will say what is wrong, on the page
                log.debug("warm-up: %s", type(exc).__name__)

        threading.Thread(target=load, name="page-warm-up", daemon=True).start()

    def close_plays(self) -> None:
        """Plays still open when the server stops are recorded as stopped where they were."""
        for play_id, (step, seconds) in list(self.plays.items()):
            cases.note_page_play(play_id, step, seconds, "stopped", self.warn)
        self.plays.clear()


def page_and_policy() -> tuple[bytes, str]:
    """The page, and a Content-Security-Policy that lets run only its own inline script and style
    (by their hashes) and lets it reach only its own origin."""
    html = PAGE.read_text(encoding="utf-8")

    def digest(tag: str) -> str:
        found = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S)
        if found is None:
            raise RuntimeError(f"the page has no <{tag}> block")
        return "'sha256-" + base64.b64encode(hashlib.sha256(found.group(1).encode("utf-8")).digest()).decode() + "'"

    policy = (f"default-src 'none'; script-src {digest('script')}; style-src {digest('style')}; "
              "img-src 'self' data:; media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")
    return html.encode("utf-8"), policy


class Guard:
    """ASGI middleware in front of every request: the host (against DNS rebinding on
    loopback), the token on the LAN, JSON-only same-origin POSTs, and the security headers."""

    def __init__(self, inner, site: Site, policy: str):
        self.inner, self.site, self.policy = inner, site, policy

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse

        request = Request(scope)
        refusal = self._refusal(request)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [(b"content-security-policy", self.policy.encode()),
                            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                            (b"x-frame-options", b"DENY"), (b"cross-origin-resource-policy", b"same-origin")]
                if self.site.token and request.query_params.get("token") == self.site.token:
                    headers.append((b"set-cookie", f"{TOKEN_COOKIE}={self.site.token}; Path=/; HttpOnly; "
                                                   "SameSite=Strict".encode()))
            await send(message)

        if refusal is not None:
            return await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, with_headers)
        return await self.inner(scope, receive, with_headers)

    def _refusal(self, request) -> tuple[int, str] | None:
        host = (request.url.hostname or "").lower()
        if self.site.token is None and not is_loopback(host):
            return 403, "This server answers on 127.0.0.1 only."
        if self.site.token is not None:
            given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
            if not secrets.compare_digest(given.encode(), self.site.token.encode()):
                return 403, "Open the address printed by 'guided serve', with its token."
        if request.method not in ("GET", "HEAD", "POST"):
            return 405, "Method not allowed."
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
                return 403, "Cross-origin requests are refused."
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return 415, "Send JSON."
            if int(request.headers.get("content-length") or 0) > MAX_BODY:
                return 413, "Request too large."
        return None


async def _body(request) -> dict:
    """The request's JSON object, read up to MAX_BODY bytes (a longer body is refused while
    it is read, whatever its Content-Length said)."""
    from starlette.exceptions import HTTPException

    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise HTTPException(413, "Request too large.")
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        raise HTTPException(400, "Send a JSON object.") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "Send a JSON object.")
    return body


def make_app(site: Site):
    """The Starlette application: the page, its JSON calls, and the rendered sounds."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    page, policy = page_and_policy()

    async def index(request):
        return Response(page, media_type="text/html; charset=utf-8", headers={"cache-control": "no-store"})

    def library() -> list[dict]:
        steps = cases.page_resume_steps(site.offered)
        return [{**o.info.to_json(), "resume_step": steps[o.info.id]} for o in site.offered]

    async def sessions(request):
        return JSONResponse(await run_in_threadpool(library), headers={"cache-control": "no-store"})

    def offered_or_404(session_id) -> cases.Offered:
        # Looked up among the ids this server made (a file name may hold spaces or dots): no
        # text from the request ever reaches the file system.
        offered = site.session(session_id) if isinstance(session_id, str) and len(session_id) <= 200 else None
        if offered is None:
            raise HTTPException(404, "No such session.")
        return offered

    async def prepare(request):
        body = await _body(request)
        offered = offered_or_404(body.get("session"))
        names = [body.get("partner_a") or app.Timing.partner_a, body.get("partner_b") or app.Timing.partner_b]
        if not all(isinstance(n, str) for n in names):
            raise HTTPException(400, "Names are text.")
        timing = app.Timing(*names)
        try:
            timing.options()  # a name that cannot be shown or spoken: refused now, with the reason
        except GuidedError as exc:
            raise HTTPException(400, str(exc)) from None
        return JSONResponse({"job": site.start_job(offered, timing)})

    def job_or_404(job_id) -> Job:
        job = site.jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None:
            raise HTTPException(404, "No such render.")
        return job

    async def job(request):
        return JSONResponse(job_or_404(request.path_params["job"]).to_json(), headers={"cache-control": "no-store"})

    async def audio(request):
        key = request.path_params["key"]
        path = site.sounds.get(key) if _SOUND.fullmatch(key) else None
        if path is None or not path.is_file():
            raise HTTPException(404, "No such sound.")
        return FileResponse(path, media_type="audio/wav", headers={"cache-control": "private, max-age=86400"})

    async def start_play(request):
        found = job_or_404((await _body(request)).get("job"))
        if found.sound is None:
            raise HTTPException(409, "The session is not ready yet.")
        play_id = await run_in_threadpool(cases.start_page_play, found.sound, site.remember_names, site.warn)
        if play_id is not None:
            site.plays[play_id] = (0, 0.0)
        return JSONResponse({"play": play_id})

    async def note_play(request):
        play_id = request.path_params["play"]
        body = await _body(request)
        step, seconds, status = body.get("step"), body.get("seconds"), body.get("status")
        if play_id not in site.plays:
            raise HTTPException(404, "No such play.")
        if not (isinstance(step, int) and 0 <= step <= 100_000 and isinstance(seconds, (int, float))
                and 0 <= seconds <= 1e6 and status in (None, *STATUSES)):
            raise HTTPException(400, "Send step, seconds and, at the end, status.")
        if status is None:
            site.plays[play_id] = (step, float(seconds))
        else:
            site.plays.pop(play_id)
        await run_in_threadpool(cases.note_page_play, play_id, step, float(seconds), status, site.warn)
        return Response(status_code=204)

    async def refused(request, exc):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    routes = [
        Route("/", index),
        Route("/api/sessions", sessions),
        Route("/api/prepare", prepare, methods=["POST"]),
        Route("/api/jobs/{job}", job),
        Route("/audio/{key}.wav", audio),
        Route("/api/plays", start_play, methods=["POST"]),
        Route("/api/plays/{play:int}", note_play, methods=["POST"]),
    ]
    inner = Starlette(routes=routes, exception_handlers={HTTPException: refused})
    return Guard(inner, site, policy)


# ── Running it ───────────────────────────────────────────────────────────────────────────────

def is_loopback(host: str) -> bool:
    """A host this machine alone reaches: localhost, or a loopback address written as one (any of
    127.0.0.0/8, ::1). Other names are refused, so a rebound DNS name cannot reach the server."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a busy port is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror}); give another --port") from None
    sock.listen(64)
    return sock


def lan_address() -> str:
    """This machine's address on the local network, as a phone would reach it. A UDP socket is
    only connected (no packet is sent) to learn which interface the system would use."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


@dataclass(frozen=True)
class Address:
    url: str
    lan: bool


def serve(workspace: app.Workspace, scripts: list[Path], voicing: app.Voicing, *, host: str | None = None,
          port: int = DEFAULT_PORT, lan: bool = False, open_browser: bool = True, remember_names: bool = False,
          announce: Callable[[Address], None] = lambda address: None,
          warn: Callable[[str], None] = lambda message: None) -> None:
    """Serve the page until Ctrl-C (which comes out of here as KeyboardInterrupt)."""
    try:
        import uvicorn
    except ImportError:
        raise ServeError("guided serve needs the web extra: pip install 'guided-player[web]'") from None

    host = host or ("0.0.0.0" if lan else "127.0.0.1")
    needs_token = lan or not is_loopback(host)
    offered = cases.offered_sessions(workspace, scripts)
    site = Site(workspace, offered, voicing, secrets.token_urlsafe(16) if needs_token else None, remember_names, warn)
    sock = bind(host, port)
    shown_host = lan_address() if host in ("0.0.0.0", "::") else host
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    url = f"http://{shown_host}:{sock.getsockname()[1]}/" + (f"?token={site.token}" if site.token else "")
    config = uvicorn.Config(make_app(site), log_level="warning", access_log=False, lifespan="off",
                            server_header=False, date_header=False, limit_concurrency=64, timeout_keep_alive=5,
                            h11_max_incomplete_event_size=16 * 1024)
    server = uvicorn.Server(config)
    site.warm_up()
    announce(Address(url, needs_token))
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        site.close_plays()
        sock.close()
