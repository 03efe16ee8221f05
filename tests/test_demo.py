"""`smops demo` as a user runs it: a process, its narrative, its report and its exit code."""

from __future__ import annotations

import os

from conftest import ROOT, run_smops


def demo_env() -> dict[str, str]:
    """The demo brings its own emulator: nothing of the test's AWS settings may leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOPS_", "GITHUB_"))}


def test_demo_runs_the_whole_lifecycle(tmp_path):
    report = tmp_path / "report.md"
    result = run_smops("demo", "--report", str(report), env=demo_env(), cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    narrative = result.stdout
    for phase in ("1 build", "2 approve → dispatch", "3 staging + smoke test", "4 production (canary)",
                  "5 v2: build → staging", "5 v2: production plan", "5 v2: production rollback", "6 cleanup",
                  "7 one-command rollback", "8 drift → retrain"):
        assert f"✓ {phase}" in narrative
    assert "production still serves AbaloneModelPackageGroup v1" in narrative
    text = report.read_text()
    assert "✅ every phase held" in text
    assert "## approval bridge — `smops dispatch`" in text and "Sent `model_approved` to **octo-org/abalone**" in text
    assert "was rolled back" in text and "abalone-production-AllTraffic-5xx-errors" in text
    assert text.count("## build — `smops build`") == 3  # v1, v2 and the retraining
    assert "drifted in length,diameter; retraining (drift:length,diameter) registered AbaloneModelPackageGroup v3" in narrative
    assert "### smops drift: `abalone-production` ⚠️ drift in 2 features" in text and "| `length` |" in text
    assert "## plan production — `smops deploy`" in text and "### smops deploy --dry-run: would update" in text
    assert "## rollback production — `smops rollback`" in text and "autoscaling 1-4 and its 3 live instances kept" in narrative


def test_demo_names_the_failed_step(tmp_path):
    report = tmp_path / "report.md"
    result = run_smops("demo", "--report", str(report), "--fail-step",
                       "TrainAbaloneModel=AlgorithmError: out of memory", env=demo_env(), cwd=ROOT, timeout=900)
    assert result.returncode == 1
    assert "✗ build: expected `smops build` to exit 0, it exited 1" in result.stdout
    assert "TrainAbaloneModel" in result.stdout and "AlgorithmError: out of memory" in result.stdout
    assert "error: demo failed: build" in result.stderr
    text = report.read_text()
    assert "❌ failed: build" in text and "| TrainAbaloneModel | Training | Failed |" in text
