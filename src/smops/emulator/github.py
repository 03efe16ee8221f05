"""A stand-in for the GitHub REST API on 127.0.0.1 that records every request it gets.

It answers the calls the approval bridge makes: `POST /repos/{owner}/{repo}/dispatches` (204) and a
GitHub App's `POST /app/installations/{id}/access_tokens` (201 with a fresh token), the issue
comment calls of a pull request comment (`comments`, see github_comments.py), what
`smops doctor` reads of the repositories, environments, tokens and App installations set up in
`repositories` (see github_repos), and, for jobs run on act, Actions' ID-token service
(`id_token_env()`: `GET ?audience=A` with the request token answers `{"value": JWT}`, the claims
of GitHub's OIDC token for a repository and ref; not signed by GitHub, which the emulator's STS
does not check). Anything else is GitHub's 404. `fail()` makes a path answer with an error status a number of times, to rehearse
bad credentials, a missing repository or an outage; `stall()` makes it handle the request but answer
late, and `hang_up()` makes it close the connection without an answer, the two ways a client is
left not knowing whether GitHub acted. Used by the tests and by `smops demo`.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smops.emulator.github_comments import IssueComments
from smops.emulator.github_repos import Repositories, credential

DISPATCHES = re.compile(r"^/repos/[^/]+/[^/]+/dispatches$")
ACCESS_TOKENS = re.compile(r"^/app/installations/(\d+)/access_tokens$")
ID_TOKEN = "/_apis/idtoken"
MESSAGES = {
    401: "Bad credentials",
    403: "Resource not accessible by integration",
    404: "Not Found",
    422: "Unprocessable Entity",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, None when there was none


HANG_UP = 0  # the status _answer gives for "close the connection without answering"


@dataclass
class _Fault:
    remaining: int
    status: int | None = None  # answer this status (HANG_UP: none at all); None: as GitHub would
    body: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering


class GitHubStandIn:
    """Threaded HTTP server; use as a context manager or call start() and stop()."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.tokens: list[str] = []  # installation tokens handed out, in order
        self.repositories = Repositories()
        self.id_tokens: list[str] = []  # OIDC ID tokens handed out, in order
        self.id_token_request_token = "actions-runtime-" + secrets.token_hex(16)
        self.oidc_claims: dict[str, str] = {}
        self.url = ""
        self._faults: dict[str, _Fault] = {}
        self._lock = threading.Lock()
        self.comments = IssueComments()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> GitHubStandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """Points smops (and PyGithub through smops) at this server instead of api.github.com."""
        return {"GITHUB_API_URL": self.url}

    def id_token_env(self, repository: str, ref: str = "refs/heads/main") -> dict[str, str]:
        """What GitHub gives a job with `id-token: write`, for tokens of this repository and ref
        (`sub` repo:OWNER/REPO:ref:REF; GitHub puts a job's environment there instead, which this
        service cannot see)."""
        self.oidc_claims = {"sub": f"repo:{repository}:ref:{ref}", "repository": repository,
                            "repository_owner": repository.split("/")[0], "ref": ref}
        # GitHub's URL carries a query already: the client appends `&audience=`.
        return {"ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}{ID_TOKEN}?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.id_token_request_token}

    def fail(self, path: str, status: int, times: int = 1, message: str | None = None) -> None:
        """Answer the next `times` requests to `path` with `status` and GitHub's error body."""
        body = {"message": message or MESSAGES.get(status, "Server Error"),
                "documentation_url": "https://docs.github.com/rest"}
        with self._lock:
            self._faults[path] = _Fault(times, status, body)

    def stall(self, path: str, seconds: float, times: int = 1) -> None:
        """Handle the next `times` requests to `path` as usual, but answer only after `seconds`."""
        with self._lock:
            self._faults[path] = _Fault(times, delay=seconds)

    def hang_up(self, path: str, times: int = 1) -> None:
        """Read the next `times` requests to `path`, then close the connection without answering."""
        with self._lock:
            self._faults[path] = _Fault(times, HANG_UP)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.tokens.clear()
            self.id_tokens.clear()
            self._faults.clear()
            self.repositories = Repositories()
        self.comments.reset()

    def dispatches(self) -> list[Request]:
        """The repository_dispatch requests received, answered or not."""
        return [r for r in self.requests if r.method == "POST" and DISPATCHES.match(r.path)]

    def _answer(self, request: Request) -> tuple[int, dict[str, Any] | None, float]:
        """(status, body, seconds to wait before answering); status HANG_UP means do not answer."""
        with self._lock:
            self.requests.append(request)
            fault = self._faults.get(request.path)
            if fault and fault.remaining > 0:
                fault.remaining -= 1
                if fault.status is not None:
                    return fault.status, fault.body, fault.delay
                return (*self._handle(request), fault.delay)
            return (*self._handle(request), 0.0)

    def _handle(self, request: Request) -> tuple[int, dict[str, Any] | None]:
        """What GitHub answers when all is well (called holding the lock)."""
        url = urlsplit(request.path)
        if request.method == "GET" and url.path == ID_TOKEN:
            return self._id_token(request, parse_qs(url.query).get("audience", [""])[0])
        comments = self.comments.handle(request.method, request.path, request.headers, request.body, self.url)
        if comments is not None:
            return comments
        host = next((v for k, v in request.headers.items() if k.lower() == "host"), "127.0.0.1")
        known = self.repositories.answer(request.method, request.path, request.headers, f"http://{host}")
        if known is not None:
            return known
        if request.method != "POST":
            return 404, {"message": MESSAGES[404]}
        if DISPATCHES.match(request.path):
            if not credential(request.headers):
                return 401, {"message": "Requires authentication"}
            if not isinstance(request.body, dict) or not request.body.get("event_type"):
                return 422, {"message": "Invalid request.\n\n\"event_type\" wasn't supplied."}
            return 204, None
        if ACCESS_TOKENS.match(request.path):
            token = f"ghs_standin{len(self.tokens) + 1:04d}"
            self.tokens.append(token)
            expires = datetime.now(timezone.utc) + timedelta(hours=1)
            installation_id = int(ACCESS_TOKENS.match(request.path)[1])
            return 201, {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": self.repositories.installation_permissions(installation_id)
                or {"contents": "write", "metadata": "read"},
                "repository_selection": "all",
            }
        return 404, {"message": MESSAGES[404]}


    def _id_token(self, request: Request, audience: str) -> tuple[int, dict[str, Any]]:
        import jwt

        bearer = {k.lower(): v for k, v in request.headers.items()}.get("authorization")
        if bearer != f"Bearer {self.id_token_request_token}":
            return 401, {"message": "Bad credentials"}
        now = int(time.time())
        claims = {"iss": "https://token.actions.githubusercontent.com", "aud": audience, **self.oidc_claims,
                  "iat": now, "nbf": now, "exp": now + 3600, "jti": secrets.token_hex(8)}
        token = jwt.encode(claims, secrets.token_hex(32), algorithm="HS256")
        self.id_tokens.append(token)
        return 200, {"value": token}


def _handler_for(stand_in: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            request = Request(self.command, self.path, dict(self.headers.items()), body)
            status, answer, delay = stand_in._answer(request)
            if status == HANG_UP:
                self.close_connection = True
                return
            time.sleep(delay)
            payload = json.dumps(answer).encode() if answer is not None else b""
            try:
                self.send_response(status)
                for name, value in stand_in.repositories.headers(request.headers).items():
                    self.send_header(name, value)
                if payload:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up waiting (stall) and closed the connection
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet server
            pass

    return Handler
