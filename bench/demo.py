"""`smops demo`, the whole lifecycle on the embedded emulator, as a user runs it: its wall time and
the time of each phase, from its narrative (whole seconds)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time

from common import ROOT, clean_env, median, table

PHASE = re.compile(r"^✓ (.+?)\s{2,}(?:(\d+)m)?(\d+)s\s")


def run(runs: int) -> dict:
    walls, phases = [], {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="smops-bench-demo-") as tmp:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "smops", "demo", "--report", f"{tmp}/report.md"],
                env=clean_env(), cwd=ROOT, capture_output=True, text=True,
            )
            walls.append(time.perf_counter() - started)
        if done.returncode:
            raise SystemExit(f"smops demo failed:\n{done.stdout}\n{done.stderr[-3000:]}")
        for line in done.stdout.splitlines():
            match = PHASE.match(line)
            if match:
                phases.setdefault(match.group(1), []).append(int(match.group(2) or 0) * 60 + int(match.group(3)))
        print(f"  smops demo: {walls[-1]:.1f} s", flush=True)
    rows = [[name, f"{median(seconds):.0f}"] for name, seconds in phases.items()]
    rows.append(["**whole demo** (wall, median of runs)", f"**{median(walls):.1f}** (runs: {', '.join(f'{w:.1f}' for w in walls)})"])
    return {"walls": walls, "phases": phases, "table": table(["phase", "seconds"], rows)}
