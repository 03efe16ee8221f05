"""`smops demo` as a user runs it: a process, its narrative, its report and its exit code."""

from __future__ import annotations

import os

from conftest import ROOT, leaks, run_smops

from smops.demo import GITHUB_TOKEN

# A safety net for a hung demo only: it takes half a minute on a quiet machine, over five on a
# busy one.
DEMO_TIMEOUT = 1800


def demo_env() -> dict[str, str]:
    """The demo brings its own emulator: nothing of the test's AWS settings may leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOPS_", "GITHUB_"))}


def test_demo_runs_the_whole_lifecycle(tmp_path):
    report = tmp_path / "report.md"
    # --verbose: every step's log on stderr too, for the secrets check below.
    result = run_smops("demo", "--report", str(report), "--verbose", env=demo_env(), cwd=ROOT, timeout=DEMO_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    narrative = result.stdout
    for phase in ("1 build", "2 approve → dispatch", "3 staging + smoke test", "4 production (canary)",
                  "5 v2: build → staging", "5 v2: production plan", "5 v2: production rollback", "6 v3: quality gate",
                  "7 cleanup", "8 one-command rollback", "9 drift → retrain", "10 status",
                  "11 teardown (dry run)"):
        assert f"✓ {phase}" in narrative
    assert "production still serves AbaloneModelPackageGroup v1" in narrative
    assert "the gate set AbaloneModelPackageGroup v3 Rejected" in narrative
    # smops status ends the demo: what each endpoint serves, and the retrained v4 waiting for a reviewer.
    assert "abalone-production: InService, serves AbaloneModelPackageGroup v1 (Approved)" in narrative
    assert "\nwaiting for approval: AbaloneModelPackageGroup v4\n\ndone in " in narrative
    text = report.read_text()
    assert "✅ every phase held" in text
    assert "## approval bridge — `smops dispatch`" in text and "Sent `model_approved` to **octo-org/abalone**" in text
    assert "was rolled back" in text and "abalone-production-AllTraffic-5xx-errors" in text
    assert text.count("## build — `smops build`") == 4  # v1, v2, v3 (the failed gate) and the retraining
    # drift with the monitor starter's flags only: the baseline is the one the build recorded on v1
    # from its training data (headerless, so its features are _c0 … _c9: length and diameter drifted).
    assert "drifted in _c0,_c1; retraining (drift:_c0,_c1) registered AbaloneModelPackageGroup v4" in narrative
    assert "a second drift while it waits starts no other build" in narrative
    assert "### smops drift: `abalone-production` ⚠️ drift in 2 features" in text and "| `_c0` |" in text
    assert "smops-baseline/AbaloneModelPackageGroup/v1/statistics.json" in text
    assert "**No retraining**: AbaloneModelPackageGroup v4, retrained for drift:_c0,_c1" in text
    assert "retrained: `drift:_c0,_c1`" in text  # smops status
    assert "## plan production — `smops deploy`" in text and "### smops deploy --dry-run: would update" in text
    assert "## rollback production — `smops rollback`" in text and "autoscaling 1-4 and its 3 live instances kept" in narrative
    assert "| `regression_metrics.r2>=0.5` | ✅ pass |" in text and "| `regression_metrics.r2>=0.5` | ❌ fail |" in text
    assert "## status — `smops status`" in text
    assert "## teardown (dry run) — `smops teardown`" in text and "(dry run: nothing is deleted)" in text
    assert "smops teardown --dry-run would delete endpoint ×2, autoscaling ×1, alarm ×2" in narrative
    # The bridge read the token to dispatch; nothing it or any other step printed shows it.
    written = {"stdout": result.stdout, "stderr (every step's log)": result.stderr, "report (every step summary)": text}
    assert leaks(written, {"the bridge's GitHub token": GITHUB_TOKEN}) == []


def test_demo_names_the_failed_step(tmp_path):
    report = tmp_path / "report.md"
    result = run_smops("demo", "--report", str(report), "--fail-step",
                       "TrainAbaloneModel=AlgorithmError: out of memory", env=demo_env(), cwd=ROOT, timeout=DEMO_TIMEOUT)
    assert result.returncode == 1
    assert "✗ build: expected `smops build` to exit 0, it exited 1" in result.stdout
    assert "TrainAbaloneModel" in result.stdout and "AlgorithmError: out of memory" in result.stdout
    assert "error: demo failed: build" in result.stderr
    text = report.read_text()
    assert "❌ failed: build" in text and "| TrainAbaloneModel | Training | Failed |" in text
