"""`smops init`: starters filled in, idempotent, never overwriting without --force."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import ROOT, run_smops

from smops.cli import main
from smops.onboard import starters

ROLE = "arn:aws:iam::123456789012:role/churn-pipeline"
MODEL_ROLE = "arn:aws:iam::123456789012:role/churn-model"
FLAGS = ["--no-input", "--name", "churn", "--region", "eu-west-1", "--pipeline-role-arn", ROLE, "--model-role-arn", MODEL_ROLE]


def init(repo, *extra: str) -> int:
    return main(["init", "--dir", str(repo), *extra])


def reusable_inputs(repo, name: str) -> dict:
    document = yaml.safe_load((repo / ".github" / "workflows" / f"{name}.yml").read_text())
    return starters.reusable_job(document, name)["with"]


def snapshot(repo) -> dict[str, str]:
    return {str(p.relative_to(repo)): p.read_text() for p in sorted(repo.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path):
    """The consumer repository (tmp_path also holds GITHUB_OUTPUT and the step summary)."""
    path = tmp_path / "repo"
    path.mkdir()
    return path


def test_the_package_ships_the_toolkits_own_starters():
    for name in starters.ALL_STARTERS:
        assert starters.template(name) == (ROOT / "workflows" / f"{name}.yml").read_text()


def test_init_fills_in_the_starters_and_writes_the_skeleton_and_payload(repo, capsys):
    assert init(repo, *FLAGS, "--json") == 0
    build, deploy = reusable_inputs(repo, "build"), reusable_inputs(repo, "deploy")
    assert build["pipeline"] == "ml/pipeline.py"
    assert build["pipeline-name"] == build["model-package-group"] == "churn"
    assert build["pipeline-role-arn"] == ROLE and deploy["model-role-arn"] == MODEL_ROLE
    assert build["region"] == deploy["region"] == "eu-west-1"
    assert build["default-bucket"] == "sagemaker-eu-west-1-123456789012"  # the SDK's default bucket
    assert (deploy["staging-endpoint-name"], deploy["production-endpoint-name"]) == ("churn-staging", "churn-production")
    assert deploy["smoke-payload"] == "ml/smoke-payload.csv" and build["sdk-extra"] is True
    # The roles are setup-aws's to write; until then they are empty, never the example's.
    assert build["role-to-assume"] == deploy["staging-role-to-assume"] == deploy["production-role-to-assume"] == ""
    text = (repo / ".github/workflows/build.yml").read_text()
    assert "111122223333" not in text and "my-model" not in text
    assert "# returns the SageMaker Pipeline" in text  # the starter's comments survive
    skeleton = (repo / "ml/pipeline.py").read_text()
    assert 'pipeline_name="churn"' in skeleton and "def get_pipeline(" in skeleton
    assert (repo / "ml/smoke-payload.csv").read_text().startswith("REPLACE-ME")
    out, err = capsys.readouterr()
    assert sorted(json.loads(out)["written"]) == sorted(str(repo / p) for p in [
        ".github/workflows/build.yml", ".github/workflows/deploy.yml", ".github/workflows/monitor.yml",
        ".github/workflows/rollback.yml", "ml/pipeline.py", "ml/code/preprocess.py", "ml/code/evaluate.py",
        "ml/smoke-payload.csv"])
    assert "smops setup-aws" in err and "smops doctor" in err


def test_init_writes_the_loop_production_captures_and_the_monitor_watches_it(repo):
    assert init(repo, *FLAGS, "--capture-percent", "25") == 0
    deploy, monitor, rollback = (reusable_inputs(repo, n) for n in ("deploy", "monitor", "rollback"))
    bucket = "sagemaker-eu-west-1-123456789012"
    # Production captures where the monitor role reads; staging captures only when asked.
    assert deploy["production-data-capture-uri"] == f"s3://{bucket}/smops-capture/churn-production"
    assert deploy["data-capture-percent"] == 25 and "data-capture-uri" not in deploy
    assert (monitor["endpoint-name"], monitor["region"]) == ("churn-production", "eu-west-1")
    assert monitor["violations-file"] == f"s3://{bucket}/smops-monitor/churn-production/${{{{ github.run_id }}}}/constraint_violations.json"
    assert monitor["role-to-assume"] == "" and rollback["role-to-assume"] == ""  # setup-aws's to write
    assert (rollback["endpoint-name"], rollback["environment"]) == ("churn-production", "production")
    for name in ("monitor", "rollback"):
        text = (repo / f".github/workflows/{name}.yml").read_text()
        assert "111122223333" not in text and "my-model" not in text
    # The monitor retrains through the build starter, which takes the reason.
    document = yaml.safe_load((repo / ".github/workflows/monitor.yml").read_text())
    assert document["jobs"]["retrain"]["uses"] == "./.github/workflows/build.yml"
    assert "retrain-reason" in yaml.safe_load((repo / ".github/workflows/build.yml").read_text())[True]["workflow_call"]["inputs"]


def test_capture_percent_zero_captures_nothing_and_out_of_range_is_refused(repo, capsys):
    assert init(repo, *FLAGS, "--capture-percent", "101") == 2
    assert "--capture-percent 101 is not between 0 and 100" in capsys.readouterr().err
    assert snapshot(repo) == {}
    assert init(repo, *FLAGS, "--capture-percent", "0") == 0
    assert reusable_inputs(repo, "deploy")["production-data-capture-uri"] == ""


def test_no_monitor_and_no_rollback_leave_them_out_and_a_rerun_adds_them_overwriting_nothing(repo, capsys):
    assert init(repo, *FLAGS, "--no-monitor", "--no-rollback") == 0
    workflows = repo / ".github/workflows"
    assert sorted(p.name for p in workflows.iterdir()) == ["build.yml", "deploy.yml"]
    # A repository set up before: its deploy starter has no capture yet, and the user edited it.
    deploy = workflows / "deploy.yml"
    edited = deploy.read_text().replace("      production-data-capture-uri:", "      # production-data-capture-uri:")
    edited = edited.replace("strategy: canary", "strategy: linear")
    deploy.write_text(edited)
    capsys.readouterr()
    assert init(repo, "--no-input", "--json") == 0
    assert deploy.read_text() == edited  # kept as it is
    assert sorted(p.name for p in workflows.iterdir()) == ["build.yml", "deploy.yml", "monitor.yml", "rollback.yml"]
    out, err = capsys.readouterr()
    assert sorted(json.loads(out)["written"]) == [str(workflows / "monitor.yml"), str(workflows / "rollback.yml")]
    assert "differs from the toolkit's starter: smops init --force rewrites it" in err
    assert reusable_inputs(repo, "monitor")["endpoint-name"] == "churn-production"


def test_without_role_arns_init_leaves_them_to_setup_aws(repo):
    assert init(repo, "--no-input", "--name", "churn", "--region", "eu-west-1", "--default-bucket", "churn-artifacts") == 0
    assert reusable_inputs(repo, "build")["pipeline-role-arn"] == reusable_inputs(repo, "deploy")["model-role-arn"] == ""
    assert reusable_inputs(repo, "deploy")["production-data-capture-uri"] == "s3://churn-artifacts/smops-capture/churn-production"


def test_init_is_idempotent_and_keeps_what_setup_aws_wrote(repo, capsys):
    assert init(repo, *FLAGS) == 0
    starters.write_inputs(repo / ".github/workflows/build.yml", "build", {"role-to-assume": "arn:aws:iam::123456789012:role/b"})
    before = snapshot(repo)
    capsys.readouterr()
    assert init(repo, "--no-input", "--json") == 0  # no flags: the answers come from the starters
    assert snapshot(repo) == before
    assert json.loads(capsys.readouterr().out)["written"] == []


def test_init_refuses_to_overwrite_a_starter_that_differs(repo, capsys):
    assert init(repo, *FLAGS) == 0
    (repo / "ml/pipeline.py").write_text("# my own pipeline\n")
    before = snapshot(repo)
    capsys.readouterr()
    assert init(repo, "--no-input", "--region", "us-west-2") == 2
    err = capsys.readouterr().err
    assert "rollback.yml already exist with other content" in err and "pass --force to overwrite" in err
    assert snapshot(repo) == before
    assert init(repo, "--no-input", "--region", "us-west-2", "--force") == 0
    assert reusable_inputs(repo, "deploy")["region"] == "us-west-2"
    assert (repo / "ml/pipeline.py").read_text() == "# my own pipeline\n"  # never overwritten


def test_init_points_every_toolkit_reference_at_the_release_asked_for(repo):
    assert init(repo, *FLAGS, "--toolkit-repository", "acme/sagemaker-mlops", "--toolkit-ref", "v1.4.0") == 0
    for name in starters.ALL_STARTERS:
        document = yaml.safe_load((repo / f".github/workflows/{name}.yml").read_text())
        job = starters.reusable_job(document, name)
        assert job["uses"] == f"acme/sagemaker-mlops/.github/workflows/{name}.yml@v1.4.0"
        assert job["with"]["toolkit-ref"] == "v1.4.0" and job["with"]["toolkit-repository"] == "acme/sagemaker-mlops"
        text = (repo / f".github/workflows/{name}.yml").read_text()
        assert "ORG/" not in text
        # Every comment of the real starter stays, in its order, with what it introduces.
        comments = [line.strip() for line in starters.template(name).splitlines() if line.strip().startswith("#")]
        assert [line.strip() for line in text.splitlines() if line.strip().startswith("#")] == comments
        assert "      toolkit-ref: v1.4.0\n      toolkit-repository: acme/sagemaker-mlops\n" in text
    build = (repo / ".github/workflows/build.yml").read_text()
    assert "the only branch the build role trusts).\n  doctor:\n" in build


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--model-package-group", "Churn-Model", "must be lower-case"),
        ("--staging-endpoint-name", "churn_staging", "must be lower-case"),
        ("--region", "Europe", "is not an AWS region"),
        ("--pipeline-role-arn", "churn-pipeline", "is not an IAM role ARN"),
        ("--default-bucket", "My_Bucket", "is not an S3 bucket name"),
    ],
)
def test_init_refuses_what_would_fail_later_and_writes_nothing(repo, capsys, flag, value, message):
    assert init(repo, *FLAGS, flag, value) == 2
    assert message in capsys.readouterr().err
    assert snapshot(repo) == {}


def test_without_a_terminal_a_missing_answer_names_its_flag(repo):
    result = run_smops("init", "--dir", str(repo), "--region", "eu-west-1", env={"SMOPS_NO_INPUT": "true"})
    assert result.returncode == 2
    # No role to take the account from: no default bucket.
    assert "error: no value for --default-bucket: pass --default-bucket" in result.stderr
    assert snapshot(repo) == {}


def test_init_asks_on_a_terminal_with_defaults(repo, monkeypatch, capsys):
    replies = iter(["", "", "", "eu-central-1", ROLE, "", "", "", "", ""])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("smops.onboard.init._prompt", lambda text: next(replies))
    assert init(repo, "--name", "fraud") == 0
    build = reusable_inputs(repo, "build")
    assert (build["pipeline-name"], build["region"], build["default-bucket"]) == ("fraud", "eu-central-1", "sagemaker-eu-central-1-123456789012")
    assert reusable_inputs(repo, "deploy")["model-role-arn"] == ROLE


@pytest.mark.sdk
def test_the_skeleton_renders_as_smops_build_renders_it(repo, tmp_path, aws_env, capsys):
    """What init writes is a pipeline smops can build: rendered with the starter's values."""
    from test_example_pipeline import quiet_sdk

    assert init(repo, *FLAGS) == 0
    build = reusable_inputs(repo, "build")
    with pytest.MonkeyPatch.context() as mp:
        quiet_sdk(mp, tmp_path)
        mp.chdir(repo)
        code = main(["build", "--dry-run", "--pipeline", build["pipeline"], "--pipeline-name", build["pipeline-name"],
                     "--role-arn", build["pipeline-role-arn"], "--default-bucket", build["default-bucket"],
                     "--model-package-group", build["model-package-group"], "--region", "us-east-1"])
    assert code == 0, capsys.readouterr().err
    assert "4 top-level steps" in capsys.readouterr().err


def test_a_rerun_keeps_capture_off_when_it_was_turned_off(repo, capsys):
    assert init(repo, *FLAGS, "--capture-percent", "0") == 0
    before = snapshot(repo)
    assert init(repo, "--no-input") == 0
    assert snapshot(repo) == before
