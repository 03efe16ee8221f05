"""Render a pipeline once per definition: rendered definitions kept with a record of what the
render read, and reused while that record still holds.

Rendering a pipeline written with the SageMaker SDK takes seconds (importing the SDK alone takes
2-5 s), and building the same code again renders the same JSON. So a render records, from its own
thread, every file it opens outside the Python installation (the pipeline's modules, files they
load, configuration; Python's audit hooks see each open and directory listing) and every
environment variable it looks up; the request is the spec, the arguments smops passes, the working
directory and the interpreter, and the installed distributions stand for everything inside the
installation. A later build of the same request reuses the definition, without importing
anything, when every recorded file, listing and variable is as it was. A render that connected to
the network or started a process from its own thread is not kept: what it got cannot be checked
later. Only hashes are stored, never a variable's value (credentials are read while rendering).

What no record can see is a definition made from the clock or from chance: SageMaker wants such
values as execution variables, and a pipeline that does otherwise needs --no-render-cache.
Entries live under $XDG_CACHE_HOME/smops/renders (~/.cache by default); a cache that cannot be
read or written only means rendering again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import sysconfig
import threading
from dataclasses import dataclass, field
from pathlib import Path

from smops import __version__

FORMAT = 1
# Mounted views of the kernel and devices: read afresh each time, never pipeline inputs.
PSEUDO_FILES = ("/proc/", "/sys/", "/dev/")
# Variables a render looks up without depending on them: what a shell sets as it moves
# around, and credentials, which only matter to a call to AWS (and such a render is not kept).
IGNORED_VARIABLES = {
    "_", "OLDPWD", "PWD", "SHLVL",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
}  # fmt: skip
OUTSIDE_WORLD = {"socket.connect", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def directory() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "smops" / "renders"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _installation() -> tuple[str, ...]:
    """Where Python and the installed distributions live: covered by `_distributions`."""
    paths = sysconfig.get_paths()
    return tuple(
        os.path.join(os.path.realpath(p), "")
        for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, paths["stdlib"], paths["purelib"], paths["platlib"]}
    )


def _distributions() -> str:
    """The name and version of every distribution on sys.path (from its metadata folder's name)."""
    names = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            names += [n for n in os.listdir(entry or ".") if n.endswith((".dist-info", ".egg-info"))]
    return _digest("\n".join(sorted(names)).encode())


def _file(path: str) -> str | None:
    try:
        return _digest(Path(path).read_bytes())
    except OSError:
        return None  # missing (a config file that is not there) or unreadable: recorded as such


def _listing(path: str) -> str | None:
    try:
        return _digest("\n".join(sorted(os.listdir(path))).encode())
    except OSError:
        return None


def _variable(value: str | None) -> str | None:
    return None if value is None else _digest(value.encode())


@dataclass
class Record:
    """What one render read, from the thread that rendered."""

    thread: int = field(default_factory=threading.get_ident)
    files: set[str] = field(default_factory=set)
    listings: set[str] = field(default_factory=set)
    variables: dict[str, str | None] = field(default_factory=dict)
    reached_outside: bool = False  # a connection or a process: what it got cannot be checked

    def saw(self, event: str, args: tuple) -> None:
        if threading.get_ident() != self.thread:
            return  # e.g. the SDK's telemetry thread
        if event == "open":
            path, mode, flags = args
            writes = any(c in (mode or "") for c in "wax+") or (mode is None and (flags or 0) & WRITE_FLAGS)
            if isinstance(path, (str, bytes, os.PathLike)) and not writes:
                self.files.add(os.path.abspath(os.fsdecode(path)))
        elif event in {"os.listdir", "os.scandir"} and isinstance(args[0], (str, bytes, os.PathLike)):
            self.listings.add(os.path.abspath(os.fsdecode(args[0])))
        elif event in OUTSIDE_WORLD:
            self.reached_outside = True

    def read_variable(self, name: str, value: str | None) -> None:
        if threading.get_ident() == self.thread and name not in IGNORED_VARIABLES:
            self.variables.setdefault(name, _variable(value))

    def dependencies(self) -> dict:
        inside = _installation()

        def outside(path: str) -> bool:
            real = os.path.realpath(path)
            return not real.startswith(inside + PSEUDO_FILES) and "__pycache__" not in Path(path).parts

        return {
            "files": {p: _file(p) for p in sorted(self.files) if outside(p)},
            "listings": {p: _listing(p) for p in sorted(self.listings) if outside(p)},
            "variables": dict(sorted(self.variables.items())),
        }


_recording: Record | None = None
_hooked = False


def _audit(event: str, args: tuple) -> None:
    if _recording is not None:
        _recording.saw(event, args)


@contextlib.contextmanager
def recording():
    """Record what the code run inside reads; yields the Record."""
    global _recording, _hooked
    if not _hooked:
        sys.addaudithook(_audit)  # hooks cannot be removed: this one is idle outside a recording
        _hooked = True
    record = Record()
    environ_type = type(os.environ)
    originals = {name: getattr(environ_type, name) for name in ("__getitem__", "__iter__", "copy")}
    iterating = threading.local()

    def getitem(self, key):
        # A lookup by name; a copy of the whole environment (botocore, urllib's proxies) is not.
        looked_up = self is os.environ and not getattr(iterating, "depth", 0)
        try:
            value = originals["__getitem__"](self, key)
        except KeyError:
            if looked_up:
                record.read_variable(key, None)
            raise
        if looked_up:
            record.read_variable(key, value)
        return value

    @contextlib.contextmanager
    def whole():
        iterating.depth = getattr(iterating, "depth", 0) + 1
        try:
            yield
        finally:
            iterating.depth -= 1

    def iterate(self):
        with whole():
            yield from originals["__iter__"](self)

    def copy(self):
        with whole():
            return originals["copy"](self)

    _recording = record
    for name, replacement in (("__getitem__", getitem), ("__iter__", iterate), ("copy", copy)):
        setattr(environ_type, name, replacement)
    try:
        yield record
    finally:
        _recording = None
        for name, original in originals.items():
            setattr(environ_type, name, original)


def _entry(request: dict) -> Path:
    request = {**request, "cwd": os.getcwd(), "python": sys.executable, "smops": __version__, "format": FORMAT}
    return directory() / f"{_digest(json.dumps(request, sort_keys=True).encode())}.json"


def lookup(request: dict) -> dict | None:
    """The definition rendered before for this request, if everything it read is unchanged."""
    try:
        entry = json.loads(_entry(request).read_text())
    except (OSError, ValueError):
        return None
    holds = (
        entry.get("distributions") == _distributions()
        and all(_file(p) == d for p, d in entry["files"].items())
        and all(_listing(p) == d for p, d in entry["listings"].items())
        and all(_variable(os.environ.get(n)) == d for n, d in entry["variables"].items())
    )
    return entry["definition"] if holds else None


def store(request: dict, record: Record, definition: dict) -> None:
    """Keep the definition with its record; a render that reached outside is not kept."""
    if record.reached_outside:
        return
    entry = _entry(request)
    content = {"distributions": _distributions(), **record.dependencies(), "definition": definition}
    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(content))
        os.replace(partial, entry)
