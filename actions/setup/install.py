"""Install the toolkit this file ships in (the `smops` command) into its own virtualenv.

Run by the setup step of every smops action with the interpreter actions/setup-python gave it;
standard library only, since nothing else is installed yet. The virtualenv lives under
RUNNER_TEMP, so the consumer's Python and PATH stay as they were, and a second smops action in
the same job reuses it: the install is skipped when the toolkit, the base interpreter and the
requested extras are already there (extras only ever add up).

Inputs (environment): INPUT_SDK_EXTRA and INPUT_EMULATOR_EXTRA ("true"/"false"), RUNNER_TEMP.
Writes: the `python` step output, SMOPS_PYTHON to GITHUB_ENV, and a directory holding only the
`smops` command to GITHUB_PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

TOOLKIT = Path(__file__).resolve().parents[2]
STAMP = ".smops-setup.json"


def wanted_extras(environ: dict[str, str]) -> list[str]:
    flags = {"sdk": "INPUT_SDK_EXTRA", "emulator": "INPUT_EMULATOR_EXTRA"}
    extras = []
    for extra, name in flags.items():
        word = environ.get(name, "").strip().lower()
        if word not in {"", "true", "false"}:
            raise SystemExit(f"error: {name}={word!r}: use true or false")
        if word == "true":
            extras.append(extra)
    return extras


def toolkit_digest(root: Path = TOOLKIT) -> str:
    """What was installed: the dependency file and the package source."""
    digest = hashlib.sha256()
    files = [root / "pyproject.toml", *sorted((root / "src").rglob("*.py"))]
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def bin_dir(env_dir: Path) -> Path:
    return env_dir / ("Scripts" if os.name == "nt" else "bin")


def executable(env_dir: Path, name: str) -> Path:
    return bin_dir(env_dir) / (f"{name}.exe" if os.name == "nt" else name)


def read_stamp(env_dir: Path) -> dict:
    try:
        return json.loads((env_dir / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def install(env_dir: Path, extras: list[str], base_python: str, log=print) -> Path:
    """Create or reuse the virtualenv; returns its python."""
    stamp = read_stamp(env_dir)
    digest = toolkit_digest()
    same_base = stamp.get("toolkit") == digest and stamp.get("python") == base_python
    python = executable(env_dir, "python")
    if same_base and set(extras) <= set(stamp.get("extras", [])) and python.exists():
        log(f"smops already installed in {env_dir} (extras: {', '.join(stamp['extras']) or 'none'})")
        return python
    if same_base:
        extras = sorted(set(extras) | set(stamp.get("extras", [])))
    else:
        # Another toolkit or interpreter: start over rather than mix two installs.
        venv.EnvBuilder(clear=True, with_pip=True).create(env_dir)
    target = f"{TOOLKIT}[{','.join(extras)}]" if extras else str(TOOLKIT)
    log(f"installing {target} into {env_dir}")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", target],
        check=True,
    )
    (env_dir / STAMP).write_text(json.dumps({"toolkit": digest, "python": base_python, "extras": extras}))
    return python


def publish(python: Path, env_dir: Path, environ: dict[str, str]) -> None:
    """Hand the interpreter to later steps without putting the venv's python on PATH."""
    shim = env_dir.parent / "smops-bin"
    shim.mkdir(exist_ok=True)
    link = shim / executable(env_dir, "smops").name
    if not link.exists():
        try:
            link.symlink_to(executable(env_dir, "smops"))
        except OSError:  # no symlinks (Windows without privilege): PATH stays as it was
            pass
    for name, line in (
        ("GITHUB_OUTPUT", f"python={python}"),
        ("GITHUB_ENV", f"SMOPS_PYTHON={python}"),
        ("GITHUB_PATH", str(shim)),
    ):
        if environ.get(name):
            with open(environ[name], "a", encoding="utf-8") as fh:
                fh.write(line + "\n")


def main(environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    extras = wanted_extras(environ)
    env_dir = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir()) / "smops-venv"
    python = install(env_dir, extras, sys.executable)
    publish(python, env_dir, environ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
