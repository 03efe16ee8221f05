"""Faults a test injects into the emulator: the ways AWS fails on a bad day.

A fault answers the next `times` requests for one operation (after letting `after` of them
through) with a throttle, a 5xx or no answer at all, so tests can check that smops survives what
is transient and reports what is not. Operations are matched by name on the JSON protocols'
X-Amz-Target header (SageMaker, CloudWatch, Secrets Manager, EventBridge).

- `throttle`: HTTP 400 ThrottlingException, as an API's rate limit answers.
- `500`, `503`: InternalFailure and ServiceUnavailable.
- `drop`: the connection closes before the request is handled.
- `drop-answer`: the request is handled, then the connection closes before the answer: the
  client cannot tell whether its call took effect.

In the emulator's process call `inject()`; for an emulator running in another process (`smops
emulator`, the emulator action) pass its URL, and the fault goes to the control path
`/smops-api/faults` (POST a fault as JSON, GET lists what is left, DELETE clears them all).

Holds put two processes in a known order, with no sleeps: a held request (one operation, from
every caller or from one access key id) waits in the emulator until released, and a held endpoint
keeps each of its updates `Updating` until released. `hold()` returns an id for `release()`;
`wait_held()` blocks until a request (or an update of the endpoint) is being held. Over HTTP the
control path is `/smops-api/holds` (POST a hold as JSON, GET lists them, DELETE ?id=… releases).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from smops.emulator.settings import settings

CONTROL_PATH = "/smops-api/faults"
HOLDS_PATH = "/smops-api/holds"
# The caller's access key id, from a SigV4 Authorization header.
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
# kind → (HTTP status, error code, message), as AWS's JSON protocols answer them.
ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "500": (500, "InternalFailure", "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "Service Unavailable"),
}
HANG_UPS = ("drop", "drop-answer")
KINDS = (*ERRORS, *HANG_UPS)

_lock = threading.Lock()


@dataclass
class Fault:
    operation: str  # e.g. DescribeEndpoint
    kind: str  # one of KINDS
    times: int = 1
    after: int = 0  # requests let through before the first fault

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.operation or self.times < 1 or self.after < 0:
            raise ValueError("a fault needs an operation, times >= 1 and after >= 0")


def inject(operation: str, kind: str, times: int = 1, after: int = 0, *, url: str | None = None) -> None:
    """Fail the next `times` calls of `operation`, after `after` calls that go through.

    With `url`, in the emulator listening there (another process); otherwise in this one.
    """
    fault = Fault(operation, kind, times, after)
    if url:
        _control(url, "POST", asdict(fault))
    else:
        _add(fault)


def _add(fault: Fault) -> None:
    with _lock:
        settings.faults.append(fault)


def clear(url: str | None = None) -> None:
    if url:
        _control(url, "DELETE")
    else:
        with _lock:
            settings.faults.clear()


def pending(url: str | None = None) -> list[dict[str, Any]]:
    """The faults not yet used up, as dicts."""
    if url:
        return _control(url, "GET")["faults"]
    with _lock:
        return [asdict(f) for f in settings.faults]


def _control(url: str, method: str, body: dict | None = None, path: str = CONTROL_PATH) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url.rstrip("/") + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the emulator's own URL
        return json.loads(response.read())


def _take(operation: str) -> Fault | None:
    """The fault that applies to this call, counting it off."""
    with _lock:
        for fault in settings.faults:
            if fault.operation != operation:
                continue
            if fault.after:
                fault.after -= 1
                return None
            fault.times -= 1
            if fault.times == 0:
                settings.faults.remove(fault)
            return fault
    return None


# -- holds ------------------------------------------------------------------------------------


@dataclass
class Hold:
    """Requests of `operation` (from the access key `client`, or anyone), or the updates of
    `endpoint`, wait until released."""

    operation: str | None = None
    client: str | None = None
    endpoint: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    held: int = 0  # requests (or updates) held so far
    arrived: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def __post_init__(self) -> None:
        if bool(self.operation) == bool(self.endpoint) or (self.client and not self.operation):
            raise ValueError("a hold names an operation (and maybe a client) or an endpoint")

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "operation": self.operation, "client": self.client, "endpoint": self.endpoint,
                "held": self.held}


def hold(operation: str | None = None, *, client: str | None = None, endpoint: str | None = None,
         url: str | None = None) -> str:
    """Hold requests of `operation` (from access key `client` only, if given), or each update of
    `endpoint` (it stays Updating), until `release(id)`; returns the id."""
    if url:
        return _control(url, "POST", {"operation": operation, "client": client, "endpoint": endpoint}, HOLDS_PATH)["id"]
    new = Hold(operation, client, endpoint)
    with _lock:
        settings.holds.append(new)
    return new.id


def release(hold_id: str | None = None, url: str | None = None) -> None:
    """Let what a hold keeps go on (every hold when no id is given)."""
    if url:
        query = f"?{urllib.parse.urlencode({'id': hold_id})}" if hold_id else ""
        _control(url, "DELETE", path=HOLDS_PATH + query)
        return
    with _lock:
        for found in [h for h in settings.holds if hold_id in (None, h.id)]:
            settings.holds.remove(found)
            found.released.set()


def holds(url: str | None = None) -> list[dict[str, Any]]:
    if url:
        return _control(url, "GET", path=HOLDS_PATH)["holds"]
    with _lock:
        return [h.public() for h in settings.holds]


def wait_held(hold_id: str, timeout: float) -> bool:
    """In the emulator's process: block until the hold keeps a request or an update."""
    with _lock:
        found = next((h for h in settings.holds if h.id == hold_id), None)
    return found is not None and found.arrived.wait(timeout)


def update_held(endpoint_name: str, count: bool = False) -> bool:
    """Whether updates of this endpoint are held now (`count`: a new update arrives under it)."""
    with _lock:
        found = next((h for h in settings.holds if h.endpoint == endpoint_name), None)
        if found and count:
            found.held += 1
            found.arrived.set()
    return found is not None


def _wait_if_held(operation: str, environ) -> None:
    match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    client = match.group(1) if match else None
    with _lock:
        found = next(
            (h for h in settings.holds if h.operation == operation and h.client in (None, client)), None
        )
        if found is None:
            return
        found.held += 1
        found.arrived.set()
    found.released.wait()


def patch(app_class) -> None:
    """Put the faults, the holds and their control paths in front of moto's server application."""
    original = app_class.__call__

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == CONTROL_PATH:
            return _serve_control(environ, start_response)
        if environ.get("PATH_INFO") == HOLDS_PATH:
            return _serve_holds(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            _wait_if_held(target.rpartition(".")[2], environ)
        fault = _take(target.rpartition(".")[2]) if target else None
        if fault is None:
            return original(self, environ, start_response)
        if fault.kind in HANG_UPS:
            if fault.kind == "drop-answer":  # handled, then the answer is lost
                answer = original(self, environ, lambda *args: None)
                b"".join(answer)
                getattr(answer, "close", lambda: None)()
            return hang_up(environ, start_response)
        status, code, message = ERRORS[fault.kind]
        body = json.dumps({"__type": code, "message": message}).encode()
        start_response(
            f"{status} {code}",
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
        )
        return [body]

    app_class.__call__ = __call__


def hang_up(environ, start_response):
    """Close the connection without a word: the server's write then fails, which it ignores."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        connection.shutdown(socket.SHUT_RDWR)
    start_response("500 Connection closed", [])
    return [b""]


def _serve_json(environ, start_response, answer_for) -> list[bytes]:
    """One control request: its JSON body (a POST's), `answer_for(method, body)` as JSON, and a
    400 with the message for a body that does not fit."""
    method = environ.get("REQUEST_METHOD")
    status = "200 OK"
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0) if method == "POST" else 0
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        answer = answer_for(method, body)
    except (TypeError, ValueError) as exc:
        status, answer = "400 Bad Request", {"message": str(exc)}
    payload = json.dumps(answer).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _serve_control(environ, start_response):
    def answer_for(method: str, body: dict) -> dict[str, Any]:
        if method == "POST":
            _add(Fault(**body))
        elif method == "DELETE":
            clear()
        return {"faults": pending()}

    return _serve_json(environ, start_response, answer_for)


def _serve_holds(environ, start_response):
    def answer_for(method: str, body: dict) -> dict[str, Any]:
        if method == "POST":
            return {"id": hold(**{k: v for k, v in body.items() if v is not None})}
        if method == "DELETE":
            release(urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("id", [None])[0])
        return {"holds": holds()}

    return _serve_json(environ, start_response, answer_for)
