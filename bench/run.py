"""Benchmarks: the time and the API calls smops adds around SageMaker's own work.

Run from a fresh clone with `scripts/bench` (it makes .venv first); `scripts/bench --only waits,rebuild
--runs 5` picks sections and repetitions. Each section prints a Markdown table of medians over the
runs, with the machine's load average before and after it, and everything measured goes to
bench/results.json (or --json PATH). Timings belong here, never in tests. Sections:

- installs: what `actions/setup` costs a job, uv (the default) against pip, with and without the
  SDK, cold (empty caches) and warm (the cache a previous run left), in fresh virtualenvs;
- waits: waiting on a pipeline execution of one 1-, 10- or 60-minute step (time scaled), smops'
  schedule against a fixed 30-second poll, calls counted by a botocore hook;
- rebuild: `smops build` of 50 pipelines, then of the same 50 unchanged, calls counted from the
  emulator's request log (moto's recorder);
- commands: how fast each smops process starts and does its work against instant AWS;
- demo: `smops demo`, the whole lifecycle, with the time of each phase;
- act: a whole workflow run of the lifecycle on nektos/act (the real-engine tests' own runs), each
  job's time split into setup, smops and the rest, with uv and with pip;
- drift: `smops drift` over 10^4 to 10^7 captured records against Evidently and the least work, on
  the same records (bench/drift.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from common import ROOT, load_average  # first: it puts src/ on sys.path and names the recorder file

SECTIONS = ["installs", "waits", "rebuild", "commands", "demo", "act", "drift"]


def machine() -> dict[str, object]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    ) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "system": platform.platform(),
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    parser.add_argument("--runs", type=int, default=3, help="repetitions per measurement; medians are shown")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results.json"), help="where the results go")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")

    results: dict[str, object] = {"machine": machine(), "runs": args.runs, "sections": {}}
    info = results["machine"]
    print(f"{info['cpus']} CPUs ({info['cpu']}), {info['memory_gb']} GB, Python {info['python']}, {info['date']}\n")
    for name in chosen:
        module = importlib.import_module(name)
        before = load_average()
        started = time.monotonic()
        section = module.run(args.runs)
        section.update(load_before=before, load_after=load_average(), seconds=round(time.monotonic() - started))
        results["sections"][name] = section
        print(f"## {name} (load average before: {before}; after: {section['load_after']})\n")
        print(section["table"] + "\n", flush=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
