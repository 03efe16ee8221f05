"""A whole workflow run of the lifecycle on nektos/act, with uv (the default) and with pip: each
job's time split into installing the toolkit (the setup steps every smops action runs), smops
itself, and the rest (act, checkout, credentials, the caller's own steps).

The runs are the real-engine tests' own (tests/test_workflows_act.py): a push builds, then an
approval's `model_approved` deploys staging and production. pytest runs them once per installer,
each time with an empty actions/cache store, so the first job installs cold and the jobs after it
restore what it saved, as on GitHub: the build job installs cold, the deploy jobs warm. Step times are act's own (`executionTime` in its JSON log,
kept by tests/act_harness.py as act.jsonl). Waiting on AWS is part of smops' share: against the
emulator, with polls every 0.05 s, it is a fraction of a second per job.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, clean_env, table

sys.path.insert(0, str(ROOT / "tests"))
from act_harness import parse  # noqa: E402

TESTS = ["test_push_builds_for_real_with_the_build_role", "test_an_approval_deploys_staging_then_production"]
INSTALLERS = ["uv", "pip"]
# The steps scripts/generate-actions writes into every smops action before its `smops` step.
SETUP_STEPS = {"python", "cache-key", "cache", "setup"}


def split(job) -> dict[str, float]:
    """A job's seconds: setup (the actions' setup steps), smops, the rest, and the whole."""
    setup = sum(s.seconds for s in job.action_steps if s.id.split("/")[-1] in SETUP_STEPS)
    smops = sum(s.seconds for s in job.action_steps if s.id.split("/")[-1] == "smops")
    whole = sum(s.seconds for s in job.steps)
    return {"setup": setup, "smops": smops, "other": max(whole - setup - smops, 0.0), "whole": whole}


def lifecycle(installer: str, base: Path) -> list[tuple[str, dict[str, float]]]:
    """Run the tests with INSTALLER; each job's split, in the order the jobs ran."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={base}",
         *[f"tests/test_workflows_act.py::{name}" for name in TESTS]],
        cwd=ROOT, env=clean_env(SMOPS_INSTALLER=installer, SMOPS_NETWORK_TESTS="1"), capture_output=True, text=True,
    )
    if done.returncode:
        raise SystemExit(f"the act runs with {installer} failed:\n{done.stdout[-4000:]}")
    jobs = []
    # pytest also links each test's newest folder as NAMEcurrent: each log once.
    logs = {log.resolve() for log in base.glob("*/act-run-*/act.jsonl")}
    for log in sorted(logs, key=os.path.getmtime):
        parsed, _ = parse(log.read_text())
        jobs += [(" ".join(job.name.split()), split(job)) for job in parsed.values()
                 if any(s.id.endswith("/smops") for s in job.action_steps)]
    return jobs


def run(runs: int) -> dict:
    """One lifecycle per installer (runs is not used: each takes minutes and downloads from PyPI)."""
    measured, rows = {}, []
    for installer in INSTALLERS:
        with tempfile.TemporaryDirectory(prefix=f"smops-bench-act-{installer}-") as tmp:
            measured[installer] = lifecycle(installer, Path(tmp))
        for name, times in measured[installer]:
            rows.append([installer, name, *(f"{times[k]:.1f}" for k in ("setup", "smops", "other", "whole")),
                         f"{times['setup'] / times['whole']:.0%}"])
        total = {k: sum(times[k] for _, times in measured[installer]) for k in ("setup", "smops", "other", "whole")}
        rows.append([f"**{installer}**", "**all jobs**", *(f"**{total[k]:.1f}**" for k in ("setup", "smops", "other", "whole")),
                     f"**{total['setup'] / total['whole']:.0%}**"])
        print(f"  act lifecycle with {installer}: {total['whole']:.1f} s of jobs, {total['setup']:.1f} s setup", flush=True)
    head = ["installer", "job", "setup s", "smops s", "other s", "job s", "setup share"]
    return {"jobs": {k: [[n, t] for n, t in v] for k, v in measured.items()}, "table": table(head, rows)}
