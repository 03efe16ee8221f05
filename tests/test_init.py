"""`smops init`: starters filled in, idempotent, never overwriting without --force."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import ROOT, run_smops

from smops import project
from smops.cli import main

ROLE = "arn:aws:iam::123456789012:role/churn-pipeline"
MODEL_ROLE = "arn:aws:iam::123456789012:role/churn-model"
FLAGS = ["--no-input", "--name", "churn", "--region", "eu-west-1", "--pipeline-role-arn", ROLE, "--model-role-arn", MODEL_ROLE]


def init(repo, *extra: str) -> int:
    return main(["init", "--dir", str(repo), *extra])


def reusable_inputs(repo, name: str) -> dict:
    document = yaml.safe_load((repo / ".github" / "workflows" / f"{name}.yml").read_text())
    return project.reusable_job(document, name)["with"]


def snapshot(repo) -> dict[str, str]:
    return {str(p.relative_to(repo)): p.read_text() for p in sorted(repo.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path):
    """The consumer repository (tmp_path also holds GITHUB_OUTPUT and the step summary)."""
    path = tmp_path / "repo"
    path.mkdir()
    return path


def test_the_package_ships_the_toolkits_own_starters():
    for name in project.STARTERS:
        assert project.template(name) == (ROOT / "workflows" / f"{name}.yml").read_text()


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
    assert sorted(json.loads(out)["written"]) == sorted(
        str(repo / p) for p in [".github/workflows/build.yml", ".github/workflows/deploy.yml", "ml/pipeline.py", "ml/smoke-payload.csv"]
    )
    assert "smops setup-aws" in err and "smops doctor" in err


def test_init_is_idempotent_and_keeps_what_setup_aws_wrote(repo, capsys):
    assert init(repo, *FLAGS) == 0
    project.write_inputs(repo / ".github/workflows/build.yml", "build", {"role-to-assume": "arn:aws:iam::123456789012:role/b"})
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
    assert "deploy.yml already exist with other content" in err and "pass --force to overwrite" in err
    assert snapshot(repo) == before
    assert init(repo, "--no-input", "--region", "us-west-2", "--force") == 0
    assert reusable_inputs(repo, "deploy")["region"] == "us-west-2"
    assert (repo / "ml/pipeline.py").read_text() == "# my own pipeline\n"  # never overwritten


def test_init_points_every_toolkit_reference_at_the_release_asked_for(repo):
    assert init(repo, *FLAGS, "--toolkit-repository", "acme/sagemaker-mlops", "--toolkit-ref", "v1.4.0") == 0
    for name in project.STARTERS:
        document = yaml.safe_load((repo / f".github/workflows/{name}.yml").read_text())
        job = project.reusable_job(document, name)
        assert job["uses"] == f"acme/sagemaker-mlops/.github/workflows/{name}.yml@v1.4.0"
        assert job["with"]["toolkit-ref"] == "v1.4.0" and job["with"]["toolkit-repository"] == "acme/sagemaker-mlops"
        text = (repo / f".github/workflows/{name}.yml").read_text()
        assert "ORG/" not in text
        # Every comment of the real starter stays, in its order, with what it introduces.
        comments = [line.strip() for line in project.template(name).splitlines() if line.strip().startswith("#")]
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
    assert "error: no value for --pipeline-role-arn: pass --pipeline-role-arn" in result.stderr
    assert snapshot(repo) == {}


def test_init_asks_on_a_terminal_with_defaults(repo, monkeypatch, capsys):
    replies = iter(["", "", "", "eu-central-1", ROLE, "", "", "", "", ""])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("smops.init._prompt", lambda text: next(replies))
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
    assert "2 top-level steps" in capsys.readouterr().err
