"""What `actions/setup` costs a job: actions/setup/install.py itself, as every action runs it.

Each install goes into a fresh RUNNER_TEMP (a new virtualenv), with SMOPS_INSTALL_CACHE (uv, the
toolkit's wheel and the installer's cache) in a directory of the run's own: empty for the cold
install, as the cold one left it for the warm one (what actions/cache restores).

PyPI says how long its answers stay fresh (Cache-Control: ten minutes for an index page, for ever
for a file); the registry proxy of the machine these numbers come from strips those headers, so
uv would revalidate, and download again, every file it has cached. The installs give uv PyPI's
own headers back through its `cache-control` index setting (PYPI_HEADERS), so that a warm cache
behaves as on a GitHub runner. pip has no such setting: its warm numbers here download again. Like a GitHub-hosted runner, the installs
see no pip configuration of this machine (PIP_CONFIG_FILE is the null device) and no
PYTHONDONTWRITEBYTECODE, so uv compiles no bytecode; one more variant sets it, as some container
images do, and uv compiles at install time as pip always does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, median, table

INSTALL = ROOT / "actions" / "setup" / "install.py"
PYPI_HEADERS = """
[[index]]
url = "https://pypi.org/simple"
default = true
cache-control = { api = "max-age=600", files = "max-age=365000000, immutable" }
"""
# (label, SMOPS_INSTALLER, PYTHONDONTWRITEBYTECODE)
INSTALLERS = [("uv", "uv", ""), ("pip", "pip", ""), ("uv, PYTHONDONTWRITEBYTECODE=1", "uv", "1")]
EXTRAS = [("toolkit", "false"), ("toolkit + [sdk]", "true")]


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def install(workdir: Path, cache: Path, installer: str, sdk: str, no_bytecode: str) -> tuple[float, float]:
    """Seconds and the virtualenv's size (MB) of one install into a fresh RUNNER_TEMP."""
    runner_temp = Path(tempfile.mkdtemp(dir=workdir))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "GITHUB_", "SMOPS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        RUNNER_TEMP=str(runner_temp), INPUT_SDK_EXTRA=sdk, SMOPS_INSTALLER=installer,
        SMOPS_INSTALL_CACHE=str(cache), PIP_CONFIG_FILE=os.devnull, UV_CONFIG_FILE=str(workdir / "uv.toml"),
    )
    if no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = no_bytecode
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(INSTALL)], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"install failed ({installer}, sdk={sdk}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    megabytes = size_mb(runner_temp / "smops-venv")
    shutil.rmtree(runner_temp)
    return seconds, megabytes


def run(runs: int) -> dict:
    samples: dict[str, dict[str, list[float]]] = {}
    for _ in range(runs):
        for extras_label, sdk in EXTRAS:
            for label, installer, no_bytecode in INSTALLERS:
                with tempfile.TemporaryDirectory(prefix="smops-bench-install-") as tmp:
                    workdir, cache = Path(tmp), Path(tmp) / "cache"
                    (workdir / "uv.toml").write_text(PYPI_HEADERS)
                    cold, megabytes = install(workdir, cache, installer, sdk, no_bytecode)
                    warm, _ = install(workdir, cache, installer, sdk, no_bytecode)
                    cache_mb = size_mb(cache)
                got = samples.setdefault(f"{extras_label} | {label}", {"cold": [], "warm": [], "venv_mb": [], "cache_mb": []})
                for key, value in (("cold", cold), ("warm", warm), ("venv_mb", megabytes), ("cache_mb", cache_mb)):
                    got[key].append(value)
                print(f"  {extras_label}, {label}: cold {cold:.1f} s, warm {warm:.1f} s", flush=True)
    medians = {name: {key: median(values) for key, values in got.items()} for name, got in samples.items()}
    rows = []
    for extras_label, _ in EXTRAS:
        uv = medians[f"{extras_label} | uv"]
        for label, _, _ in INSTALLERS:
            m = medians[f"{extras_label} | {label}"]
            rows.append([
                extras_label, label, f"{m['cold']:.1f}", f"{m['warm']:.1f}", f"{m['warm'] / m['cold']:.2f}",
                f"{m['cold'] / uv['cold']:.1f}x", f"{m['venv_mb']:.0f}", f"{m['cache_mb']:.0f}",
            ])
    head = ["install", "installer", "cold s", "warm s", "warm/cold", "cold vs uv", "venv MB", "cache MB"]
    sdk_uv, sdk_pip = medians["toolkit + [sdk] | uv"], medians["toolkit + [sdk] | pip"]
    bars = {
        "sdk_pip_over_uv_cold": sdk_pip["cold"] / sdk_uv["cold"],
        "uv_warm_over_cold": {e: medians[f"{e} | uv"]["warm"] / medians[f"{e} | uv"]["cold"] for e, _ in EXTRAS},
    }
    return {"samples": samples, "medians": medians, "bars": bars, "table": table(head, rows)}
