"""GitHub Actions I/O: outputs, job summary, log groups, annotations and masks.

Outside Actions (no GITHUB_ACTIONS) the same calls degrade to plain text on stderr, so the
command reads the same on a laptop.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def log(message: str) -> None:
    """Progress goes to stderr; stdout is kept for --json."""
    print(message, file=sys.stderr, flush=True)


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _annotate(kind: str, message: str, title: str | None) -> None:
    if in_actions():
        props = f" title={_escape(title)}" if title else ""
        log(f"::{kind}{props}::{_escape(message)}")
    else:
        log(f"{kind}: {message}")


def error(message: str, title: str | None = None) -> None:
    _annotate("error", message, title)


def warning(message: str, title: str | None = None) -> None:
    _annotate("warning", message, title)


def notice(message: str, title: str | None = None) -> None:
    _annotate("notice", message, title)


def mask(value: str) -> None:
    """Ask the runner to hide a secret in every later log line."""
    if value and in_actions():
        print(f"::add-mask::{value}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def group(title: str) -> Iterator[None]:
    """A foldable log group in Actions, a heading elsewhere."""
    if in_actions():
        log(f"::group::{title}")
        try:
            yield
        finally:
            log("::endgroup::")
    else:
        log(f"== {title}")
        yield


def set_outputs(outputs: Mapping[str, object]) -> None:
    """Append step outputs to GITHUB_OUTPUT; multi-line values use a heredoc delimiter, lists and
    dicts are JSON (a workflow reads them with fromJSON)."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in outputs.items():
            text = "" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else str(value)
            if "\n" in text:
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
                fh.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")
            else:
                fh.write(f"{name}={text}\n")


def read_outputs(path: str | os.PathLike) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file as the runner does (name=value lines and heredocs)."""
    outputs: dict[str, str] = {}
    lines = iter(open(path, encoding="utf-8").read().splitlines()) if os.path.exists(path) else iter(())
    for line in lines:
        name, sep, value = line.partition("=")
        if sep and "<<" not in name:
            outputs[name] = value
            continue
        name, _, delimiter = line.partition("<<")
        body = []
        for inner in lines:
            if inner == delimiter:
                break
            body.append(inner)
        outputs[name] = "\n".join(body)
    return outputs


def add_summary(markdown: str) -> None:
    """Append Markdown to the job summary (GITHUB_STEP_SUMMARY), when there is one."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip("\n") + "\n\n")


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table; pipes and newlines in cells are escaped so they cannot break it."""

    def cell(value: object) -> str:
        return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def run_url() -> str | None:
    """The URL of the current workflow run, when running in Actions."""
    server = os.environ.get("GITHUB_SERVER_URL")
    repo = os.environ.get("GITHUB_REPOSITORY")
    run_id = os.environ.get("GITHUB_RUN_ID")
    if server and repo and run_id:
        return f"{server}/{repo}/actions/runs/{run_id}"
    return None
