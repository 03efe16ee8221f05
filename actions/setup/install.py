"""Install the toolkit this file ships in (the `smops` command) into its own virtualenv.

Run by the setup steps of every smops action with the interpreter actions/setup-python gave it;
standard library only, since nothing else is installed yet. The virtualenv lives under
RUNNER_TEMP, so the consumer's Python and PATH stay as they were, and a second smops action in
the same job reuses it: the install is skipped when the toolkit, the base interpreter and the
requested extras are already there (extras only ever add up).

`--cache-key` only says how to cache pip's downloads for the install to come, for the
actions/cache step that runs before it (actions/setup-python's own cache cannot key on a file
outside the workspace, where this toolkit usually is): the `key`, a `restore-key` prefix and the
`dir` to cache, which the install step gets as PIP_CACHE_DIR. The key is empty when nothing
needs installing.

Inputs (environment): INPUT_SDK_EXTRA, INPUT_EMULATOR_EXTRA and INPUT_MONITOR_EXTRA ("true"/"false"), RUNNER_TEMP,
RUNNER_OS and RUNNER_ARCH (for the cache key).
Writes: the `python` step output, SMOPS_PYTHON to GITHUB_ENV, and a directory holding only the
`smops` command to GITHUB_PATH; with `--cache-key`, the `key`, `restore-key` and `dir` outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

TOOLKIT = Path(__file__).resolve().parents[2]
STAMP = ".smops-setup.json"


def wanted_extras(environ: dict[str, str]) -> list[str]:
    flags = {"sdk": "INPUT_SDK_EXTRA", "emulator": "INPUT_EMULATOR_EXTRA", "monitor": "INPUT_MONITOR_EXTRA"}
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


def plan(env_dir: Path, extras: list[str], base_python: str) -> tuple[list[str] | None, bool]:
    """(the extras to install, or None when all are there already; whether to start afresh)."""
    stamp = read_stamp(env_dir)
    same_base = stamp.get("toolkit") == toolkit_digest() and stamp.get("python") == base_python
    if not same_base:
        return sorted(extras), True
    installed = set(stamp.get("extras", []))
    if set(extras) <= installed and executable(env_dir, "python").exists():
        return None, False
    return sorted(set(extras) | installed), False


def cache_key(extras: list[str], environ: dict[str, str], root: Path = TOOLKIT) -> tuple[str, str]:
    """(key, restore-key prefix) for pip's cache: the platform, the interpreter, the extras and
    the toolkit's dependency file. Another pyproject.toml restores the newest cache of the rest."""
    deps = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    where = "-".join(environ.get(name) or "any" for name in ("RUNNER_OS", "RUNNER_ARCH"))
    python = f"{sys.implementation.name}{platform.python_version()}"
    prefix = f"smops-pip-{where}-{python}-{'+'.join(extras) or 'base'}-"
    return prefix + deps, prefix


def install(env_dir: Path, extras: list[str], base_python: str, log=print) -> Path:
    """Create or reuse the virtualenv; returns its python."""
    python = executable(env_dir, "python")
    wanted, afresh = plan(env_dir, extras, base_python)
    if wanted is None:
        stamp = read_stamp(env_dir)
        log(f"smops already installed in {env_dir} (extras: {', '.join(stamp['extras']) or 'none'})")
        return python
    extras, digest = wanted, toolkit_digest()
    if afresh:
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


def write_outputs(environ: dict[str, str], outputs: dict[str, str]) -> None:
    if environ.get("GITHUB_OUTPUT"):
        with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
            fh.writelines(f"{name}={value}\n" for name, value in outputs.items())


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    environ = dict(os.environ if environ is None else environ)
    extras = wanted_extras(environ)
    temp = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    env_dir = temp / "smops-venv"
    if argv == ["--cache-key"]:
        wanted, _ = plan(env_dir, extras, sys.executable)
        key, restore = cache_key(wanted, environ) if wanted is not None else ("", "")
        # A directory of its own: the cache holds the toolkit's downloads, not the job's others.
        write_outputs(environ, {"key": key, "restore-key": restore, "dir": str(temp.resolve() / "smops-pip-cache")})
        return 0
    if argv:
        raise SystemExit(f"usage: install.py [--cache-key]; not {' '.join(argv)!r}")
    python = install(env_dir, extras, sys.executable)
    publish(python, env_dir, environ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
