"""Install the toolkit this file ships in (the `smops` command) into its own virtualenv.

Run by the setup steps of every smops action with the interpreter actions/setup-python gave it;
standard library only, since nothing else is installed yet. The virtualenv lives under
RUNNER_TEMP, so the consumer's Python and PATH stay as they were, and a second smops action in
the same job reuses it: the install is skipped when the toolkit, the base interpreter, the
installer and the requested extras are already there (extras only ever add up).

The installer is uv (a pinned version, fetched from PyPI with the base interpreter's pip into a
directory of its own): several times faster than pip (bench/README.md), in part because, unlike
pip, it compiles no bytecode up front: Python writes the bytecode of what smops imports on first
use. (Where PYTHONDONTWRITEBYTECODE forbids that, each smops process compiles its imports, 1-5 s;
compiling the whole SDK at install would cost a build job far more.) SMOPS_INSTALLER=pip
installs with pip instead, for runners whose package index is configured for pip only (uv reads
UV_DEFAULT_INDEX and UV_INDEX, not pip.conf); so does a runner where uv cannot be fetched, with
a warning.

`--cache-key` only says how to cache the install to come, for the actions/cache step that runs
before it (actions/setup-python's own cache cannot key on a file outside the workspace, where
this toolkit usually is): the `key`, a `restore-key` prefix and the `dir` to cache, which the
install step gets as SMOPS_INSTALL_CACHE. That directory holds uv itself and the toolkit built
as a wheel (so a warm job neither fetches uv nor builds the toolkit: uv rebuilds a source tree
every time it is given one), and uv's cache, or pip's. The key is empty when nothing needs
installing.

Inputs (environment): INPUT_SDK_EXTRA, INPUT_EMULATOR_EXTRA and INPUT_MONITOR_EXTRA
("true"/"false"), SMOPS_INSTALLER (uv, the default, or pip), SMOPS_INSTALL_CACHE, RUNNER_TEMP,
RUNNER_OS and RUNNER_ARCH (for the cache key).
Writes: the `python` step output, SMOPS_PYTHON to GITHUB_ENV, and a directory holding only the
`smops` command to GITHUB_PATH; with `--cache-key`, the `key`, `restore-key` and `dir` outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

TOOLKIT = Path(__file__).resolve().parents[2]
STAMP = ".smops-setup.json"
UV_VERSION = "0.13.9"
DISTRIBUTION = "sagemaker-mlops-actions"
VERSION_FILE = "src/smops/_version.py"  # written by the build
INSTALLERS = ("uv", "pip")


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


def wanted_installer(environ: dict[str, str]) -> str:
    word = environ.get("SMOPS_INSTALLER", "").strip().lower() or INSTALLERS[0]
    if word not in INSTALLERS:
        raise SystemExit(f"error: SMOPS_INSTALLER={word!r}: use {' or '.join(INSTALLERS)}")
    return word


def toolkit_digest(root: Path = TOOLKIT) -> str:
    """What was installed: the dependency file and the package source, not the version file that
    building the wheel writes into it (pyproject's setuptools-scm version_file): otherwise the next
    action of the same job would see another toolkit and install it again."""
    digest = hashlib.sha256()
    files = [root / "pyproject.toml", *sorted(p for p in (root / "src").rglob("*.py") if p != root / VERSION_FILE)]
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


def plan(env_dir: Path, extras: list[str], base_python: str, installer: str) -> tuple[list[str] | None, bool]:
    """(the extras to install, or None when all are there already; whether to start afresh)."""
    stamp = read_stamp(env_dir)
    same_base = (stamp.get("toolkit"), stamp.get("python"), stamp.get("installer")) == (
        toolkit_digest(),
        base_python,
        installer,
    )
    if not same_base:
        return sorted(extras), True
    installed = set(stamp.get("extras", []))
    if set(extras) <= installed and executable(env_dir, "python").exists():
        return None, False
    return sorted(set(extras) | installed), False


def cache_key(
    extras: list[str], installer: str, environ: dict[str, str], root: Path = TOOLKIT
) -> tuple[str, str]:
    """(key, restore-key prefix) for the installer's cache: the installer (and uv's version), the
    platform, the interpreter, the extras and the toolkit's dependency file. Another
    pyproject.toml restores the newest cache of the rest."""
    deps = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    where = "-".join(environ.get(name) or "any" for name in ("RUNNER_OS", "RUNNER_ARCH"))
    python = f"{sys.implementation.name}{platform.python_version()}"
    tool = f"uv{UV_VERSION}" if installer == "uv" else installer
    prefix = f"smops-{tool}-{where}-{python}-{'+'.join(extras) or 'base'}-"
    return prefix + deps, prefix


def tool_environment(environ: dict[str, str], temp: Path) -> tuple[Path, dict[str, str]]:
    """Where uv and the toolkit's wheel are kept, and the installers' environment: with
    SMOPS_INSTALL_CACHE (the directory actions/cache keeps) they and both caches live there;
    without, they go to the temp directory and the caches stay the tools' own."""
    cache = environ.get("SMOPS_INSTALL_CACHE")
    if not cache:
        return temp / "smops-tools", dict(environ)
    home = Path(cache)
    return home, {**environ, "UV_CACHE_DIR": str(home / "uv"), "PIP_CACHE_DIR": str(home / "pip")}


def toolkit_wheel(uv: Path, home: Path, digest: str, environ: dict[str, str]) -> Path:
    """The toolkit built once per version of its source (its digest), kept next to uv."""
    wheels = home / "toolkit"
    built = sorted((wheels / digest).glob("*.whl"))
    if built:
        return built[0]
    shutil.rmtree(wheels, ignore_errors=True)  # another version's
    command = [str(uv), "build", "--quiet", "--wheel", "--out-dir", str(wheels / digest), str(TOOLKIT)]
    subprocess.run(command, env=environ, check=True)
    return next((wheels / digest).glob("*.whl"))


def fetch_uv(tools: Path, base_python: str, environ: dict[str, str], log=print) -> Path | None:
    """uv's executable, installed from PyPI into TOOLS by pip (so pip's index settings apply);
    None, with a warning, when it cannot be (no wheel for this platform, no index)."""
    uv = executable(tools, "uv")
    if uv.exists():
        return uv
    log(f"installing uv {UV_VERSION} into {tools}")
    fetched = subprocess.run(
        [base_python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet",
         "--no-deps", "--only-binary=:all:", "--target", str(tools), f"uv=={UV_VERSION}"],
        env=environ,
        check=False,
    )
    if fetched.returncode or not uv.exists():
        log(f"::warning::could not install uv {UV_VERSION} with pip; installing smops with pip "
            "instead (slower). Set SMOPS_INSTALLER=pip to skip trying uv.")
        return None
    return uv


def install(
    env_dir: Path, extras: list[str], base_python: str, installer: str = "uv", environ=None, log=print
) -> Path:
    """Create or reuse the virtualenv; returns its python."""
    home, environ = tool_environment(dict(os.environ if environ is None else environ), env_dir.parent)
    python = executable(env_dir, "python")
    wanted, afresh = plan(env_dir, extras, base_python, installer)
    if wanted is None:
        stamp = read_stamp(env_dir)
        log(f"smops already installed in {env_dir} (extras: {', '.join(stamp['extras']) or 'none'})")
        return python
    extras, digest = wanted, toolkit_digest()
    uv = fetch_uv(home / f"uv-{UV_VERSION}", base_python, environ, log) if installer == "uv" else None
    if uv is None and not afresh and not executable(env_dir, "pip").exists():
        afresh = True  # made by uv, to be completed by pip: pip needs a venv of its own
    if afresh:
        # Another toolkit, interpreter or installer: start over rather than mix two installs.
        venv.EnvBuilder(clear=True, with_pip=uv is None).create(env_dir)
    extras_suffix = f"[{','.join(extras)}]" if extras else ""
    log(f"installing {TOOLKIT}{extras_suffix} into {env_dir} with {'uv' if uv else 'pip'}")
    if uv:
        wheel = toolkit_wheel(uv, home, digest, environ)
        target = f"{DISTRIBUTION}{extras_suffix} @ {wheel.as_uri()}"
        command = [str(uv), "pip", "install", "--python", str(python), target]
    else:
        target = f"{TOOLKIT}{extras_suffix}"
        command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", target]
    subprocess.run(command, env=environ, check=True)
    stamp = {"toolkit": digest, "python": base_python, "installer": installer, "extras": extras}
    (env_dir / STAMP).write_text(json.dumps(stamp))
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
    extras, installer = wanted_extras(environ), wanted_installer(environ)
    temp = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    env_dir = temp / "smops-venv"
    if argv == ["--cache-key"]:
        wanted, _ = plan(env_dir, extras, sys.executable, installer)
        key, restore = cache_key(wanted, installer, environ) if wanted is not None else ("", "")
        # A directory of its own: the cache holds the toolkit's downloads, not the job's others.
        write_outputs(environ, {"key": key, "restore-key": restore, "dir": str(temp.resolve() / "smops-cache")})
        return 0
    if argv:
        raise SystemExit(f"usage: install.py [--cache-key]; not {' '.join(argv)!r}")
    python = install(env_dir, extras, sys.executable, installer, environ)
    publish(python, env_dir, environ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
