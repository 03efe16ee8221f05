"""Start `smops emulator` in the background and point the rest of the job's AWS_* at it.

Run by actions/emulator with the smops virtualenv's python. The emulator reads its flags from the
SMOPS_* variables the step sets, like every smops command, and prints the `export NAME=VALUE`
lines a shell needs; those go to GITHUB_ENV. The process outlives this step (a new session, no
terminal) and the runner ends it with the job.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY_SECONDS = 60
POLL_SECONDS = "0.5"
# What later steps need; the emulator prints them in one write, which a read can still catch
# half-done, so wait for all of them and a whole last line.
NEEDED = {"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def exports(text: str) -> dict[str, str]:
    """NAME=VALUE pairs from the emulator's `export NAME=VALUE` lines."""
    pairs = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export ") :].partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def complete_exports(text: str) -> dict[str, str] | None:
    """The exports once every needed one has been printed in full; None until then."""
    found = exports(text)
    return found if NEEDED <= set(found) and text.endswith("\n") else None


def start(logs: Path, python: str = sys.executable) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start the emulator and wait until it printed where it listens."""
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / "emulator.out", logs / "emulator.log"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(
            [python, "-m", "smops", "emulator"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        found = complete_exports(out_path.read_text(encoding="utf-8", errors="replace"))
        if found:
            return process, found
        if process.poll() is not None:
            break
        time.sleep(0.1)
    else:
        process.terminate()
    log = err_path.read_text(encoding="utf-8", errors="replace").strip()
    raise SystemExit(
        f"error: smops emulator did not start within {READY_SECONDS} s (exit code {process.poll()})"
        + (f"; its log ends:\n{log[-2000:]}" if log else "")
    )


def main(environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    logs = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir()) / "smops-emulator"
    process, found = start(logs)
    print(f"smops emulator listening on {found['AWS_ENDPOINT_URL']} (pid {process.pid}, log {logs})")
    # The emulator answers at once: later smops steps may poll it far more often than AWS.
    found.setdefault("SMOPS_POLL_SECONDS", environ.get("SMOPS_POLL_SECONDS") or POLL_SECONDS)
    if environ.get("GITHUB_ENV"):
        with open(environ["GITHUB_ENV"], "a", encoding="utf-8") as fh:
            fh.writelines(f"{name}={value}\n" for name, value in found.items())
    if environ.get("GITHUB_OUTPUT"):
        with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
            fh.write(f"endpoint-url={found['AWS_ENDPOINT_URL']}\npid={process.pid}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
