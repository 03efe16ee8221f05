"""What `actions/setup` costs a job: actions/setup/install.py itself, as every action runs it.

Each install goes into a fresh RUNNER_TEMP (a new virtualenv), with SMOPS_INSTALL_CACHE (uv, the
toolkit's wheel and the installer's cache) in a directory of the run's own: empty for the cold
install, as the cold one left it for the warm one (what actions/cache restores).

PyPI says how long its answers stay fresh (Cache-Control: ten minutes for an index page, for ever
for a file); the registry proxy of the machine these numbers come from strips those headers, so
uv would revalidate, and download again, every file it has cached. The installs give uv PyPI's
own headers back through its `cache-control` index setting (PYPI_HEADERS), so that a warm cache
behaves as on a GitHub runner. pip has no such setting: its warm numbers here download again. Like a GitHub-hosted runner, the installs
see no pip configuration of this machine (PIP_CONFIG_FILE is the null device).
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
INSTALLERS = ["uv", "pip"]
EXTRAS = [("toolkit", "false"), ("toolkit + [sdk]", "true")]


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def install(workdir: Path, cache: Path, installer: str, sdk: str) -> tuple[float, float]:
    """Seconds and the virtualenv's size (MB) of one install into a fresh RUNNER_TEMP."""
    runner_temp = Path(tempfile.mkdtemp(dir=workdir))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "GITHUB_", "SMOPS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a GitHub runner: Python writes bytecode on import
    env.update(
        RUNNER_TEMP=str(runner_temp), INPUT_SDK_EXTRA=sdk, SMOPS_INSTALLER=installer,
        SMOPS_INSTALL_CACHE=str(cache), PIP_CONFIG_FILE=os.devnull, UV_CONFIG_FILE=str(workdir / "uv.toml"),
    )
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
            for installer in INSTALLERS:
                with tempfile.TemporaryDirectory(prefix="smops-bench-install-") as tmp:
                    workdir, cache = Path(tmp), Path(tmp) / "cache"
                    (workdir / "uv.toml").write_text(PYPI_HEADERS)
                    cold, megabytes = install(workdir, cache, installer, sdk)
                    warm, _ = install(workdir, cache, installer, sdk)
                    cache_mb = size_mb(cache)
                got = samples.setdefault(f"{extras_label} | {installer}", {"cold": [], "warm": [], "venv_mb": [], "cache_mb": []})
                for key, value in (("cold", cold), ("warm", warm), ("venv_mb", megabytes), ("cache_mb", cache_mb)):
                    got[key].append(value)
                print(f"  {extras_label}, {installer}: cold {cold:.1f} s, warm {warm:.1f} s", flush=True)
    # Ratios are taken within a run (the same minute's load), then their median over the runs.
    for got in samples.values():
        got["warm/cold"] = [w / c for w, c in zip(got["warm"], got["cold"])]
    for extras_label, _ in EXTRAS:
        uv = samples[f"{extras_label} | uv"]
        for installer in INSTALLERS:
            got = samples[f"{extras_label} | {installer}"]
            got["cold vs uv"] = [c / u for c, u in zip(got["cold"], uv["cold"])]
    medians = {name: {key: median(values) for key, values in got.items()} for name, got in samples.items()}
    rows = [
        [
            extras_label, installer, f"{m['cold']:.1f}", f"{m['warm']:.1f}", f"{m['warm/cold']:.2f}",
            f"{m['cold vs uv']:.1f}x", f"{m['venv_mb']:.0f}", f"{m['cache_mb']:.0f}",
        ]
        for extras_label, _ in EXTRAS
        for installer in INSTALLERS
        for m in [medians[f"{extras_label} | {installer}"]]
    ]
    head = ["install", "installer", "cold s", "warm s", "warm/cold", "cold vs uv", "venv MB", "cache MB"]
    bars = {
        "sdk_pip_over_uv_cold": medians["toolkit + [sdk] | pip"]["cold vs uv"],
        "uv_warm_over_cold": {e: medians[f"{e} | uv"]["warm/cold"] for e, _ in EXTRAS},
    }
    return {"samples": samples, "medians": medians, "bars": bars, "table": table(head, rows)}
