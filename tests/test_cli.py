"""The command-line contract: env fallbacks, one-line errors, outputs, fast start, the emulator."""

from __future__ import annotations

import argparse

import json
import os
import signal
import subprocess
import sys

import boto3
import pytest
from conftest import ROOT, read_outputs, run_smops

from smops import gha
from smops.cli import env_name, main, parser

DEFINITION = ROOT / "tests" / "data" / "pipeline-definition.json"


def test_every_flag_has_an_env_name():
    assert env_name("--model-package-arn") == "SMOPS_MODEL_PACKAGE_ARN"
    commands = parser()._subparsers._group_actions[0].choices
    for command, sub in commands.items():
        for action in sub._actions:
            for option in action.option_strings:
                negation = option.startswith("--no-") and isinstance(action, argparse.BooleanOptionalAction)
                if option.startswith("--") and option != "--help" and not negation:
                    assert env_name(option) in action.help, (command, option)


def test_flags_come_from_the_environment(aws_env, monkeypatch, outputs):
    monkeypatch.setenv("SMOPS_PIPELINE", str(DEFINITION))
    monkeypatch.setenv("SMOPS_PIPELINE_NAME", "from-env")
    monkeypatch.setenv("SMOPS_ROLE_ARN", "arn:aws:iam::123456789012:role/x")
    monkeypatch.setenv("SMOPS_PARAMETER", "Epochs=3\n\nMseThreshold=2.5\n")
    monkeypatch.setenv("SMOPS_WAIT", "false")
    assert main(["build"]) == 0
    out = outputs()
    assert out["pipeline-arn"].endswith(":pipeline/from-env") and out["execution-status"] == "Executing"
    given = boto3.client("sagemaker").list_pipeline_parameters_for_execution(
        PipelineExecutionArn=out["execution-arn"]
    )["PipelineParameters"]
    assert sorted(p["Name"] for p in given) == ["Epochs", "MseThreshold"]


def test_a_flag_beats_its_environment_variable(aws_env, monkeypatch, outputs):
    monkeypatch.setenv("SMOPS_PIPELINE_NAME", "from-env")
    assert main(["build", "--pipeline", str(DEFINITION), "--pipeline-name", "from-flag",
                 "--role-arn", "arn:aws:iam::123456789012:role/x", "--no-wait"]) == 0
    assert outputs()["pipeline-arn"].endswith(":pipeline/from-flag")


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("SMOPS_WAIT", "maybe", "SMOPS_WAIT='maybe' is invalid (use true or false)"),
        ("SMOPS_TIMEOUT", "soon", "SMOPS_TIMEOUT='soon' is invalid"),
        ("SMOPS_TAG", "team", "expected NAME=VALUE"),
    ],
)
def test_bad_environment_values_are_one_line_exit_2(monkeypatch, capsys, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["build", "--pipeline", "x.json", "--pipeline-name", "p", "--role-arn", "r"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "see `smops build --help`" in err[0]


def test_bad_environment_value_of_another_command_does_not_break_help(monkeypatch):
    monkeypatch.setenv("SMOPS_STRATEGY", "bogus")
    result = run_smops("build", "--help")
    assert result.returncode == 0 and "--pipeline" in result.stdout


def test_no_region_is_bad_input(capsys):
    assert main(["approve", "--model-package-arn", "arn:aws:sagemaker:x"]) == 2
    assert "no AWS region configured: pass --region" in capsys.readouterr().err


def test_no_credentials_is_bad_input(monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"
    assert main(["approve", "--model-package-arn", arn]) == 2
    assert "no AWS credentials found" in capsys.readouterr().err


def test_outputs_file_uses_heredocs_for_multiline_values(tmp_path, monkeypatch):
    gha.set_outputs({"one": "a=b", "many": "x\ny"})
    assert read_outputs(tmp_path / "github_output") == {"one": "a=b", "many": "x\ny"}


def test_annotations_and_masks_only_in_actions(monkeypatch, capsys):
    gha.error("bad\nthing")
    gha.mask("s3cr3t")
    assert capsys.readouterr().err == "error: bad\nthing\n"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    gha.error("bad\nthing", title="smops")
    gha.mask("s3cr3t")
    assert capsys.readouterr().err == "::error title=smops::bad%0Athing\n::add-mask::s3cr3t\n"


def test_json_goes_to_stdout_and_logs_to_stderr(aws_env, tmp_path):
    result = run_smops("build", "--pipeline", str(DEFINITION), "--pipeline-name", "j",
                       "--role-arn", "arn:aws:iam::123456789012:role/x", "--no-wait", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["execution-status"] == "Executing"
    assert "pipeline j: created" in result.stderr


def test_deploy_path_never_imports_the_sagemaker_sdk():
    code = (
        "import sys, smops.cli, smops.deploy.deploy, smops.deploy.smoke, smops.registry, smops.deploy.cleanup; "
        "print(sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith(('sagemaker.', 'moto'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_help_does_not_import_boto3():
    code = "import sys; from smops.cli import parser; parser(); print('boto3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_emulator_command_serves_until_interrupted(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "smops", "emulator", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        exports = dict(process.stdout.readline().split(" ", 1)[1].strip().split("=", 1) for _ in range(5))
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        sagemaker = boto3.client(
            "sagemaker",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            region_name=exports["AWS_REGION"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        assert sagemaker.list_pipelines()["PipelineSummaries"] == []
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0  # a safety net; it stops at once
        assert "smops emulator stopped" in process.stderr.read()
    finally:
        process.kill()


def test_emulator_stops_on_sigterm():
    process = subprocess.Popen([sys.executable, "-m", "smops", "emulator"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        process.stdout.readline()  # ready: it handles SIGTERM from the first export on
        process.terminate()
        assert process.wait(timeout=60) == 0  # a safety net; it stops at once
    finally:
        process.kill()


def test_a_repeatable_flag_replaces_its_environment_list(monkeypatch):
    monkeypatch.setenv("SMOPS_ALARM", "from-env-a\nfrom-env-b")
    args = parser().parse_args(["deploy", "--endpoint-name", "e", "--alarm", "from-flag"])
    assert args.alarm == ["from-flag"]
    assert parser().parse_args(["deploy", "--endpoint-name", "e"]).alarm == ["from-env-a", "from-env-b"]
    monkeypatch.delenv("SMOPS_ALARM")
    assert parser().parse_args(["deploy", "--endpoint-name", "e", "--alarm", "a", "--alarm", "b"]).alarm == ["a", "b"]
    assert parser().parse_args(["deploy", "--endpoint-name", "e"]).alarm == []


def test_expired_credentials_name_the_cause(aws_env, monkeypatch, capsys):
    import botocore.exceptions

    from smops import registry

    def expire(args):
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "ExpiredTokenException", "Message": "The security token included in the request is expired"}},
            "DescribePipelineExecution",
        )

    monkeypatch.setattr(registry, "run_approve", expire)
    assert main(["approve", "--model-package-arn", "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"]) == 1
    line = capsys.readouterr().err.strip().splitlines()[0]
    assert "the AWS credentials expired during DescribePipelineExecution" in line and "role-duration-seconds" in line


def test_botocore_client_side_errors_are_bad_input():
    import botocore.exceptions

    from smops.cli import _aws_error

    invalid = _aws_error(botocore.exceptions.ParamValidationError(report="Invalid type for parameter InitialInstanceCount"))
    assert invalid.exit_code == 2 and "Invalid type for parameter InitialInstanceCount" in str(invalid)
    sso = _aws_error(botocore.exceptions.UnauthorizedSSOTokenError())
    assert sso.exit_code == 2 and "aws sso login" in str(sso)
    unreachable = _aws_error(botocore.exceptions.EndpointConnectionError(endpoint_url="https://api.sagemaker"))
    assert unreachable.exit_code == 1 and "could not reach AWS" in str(unreachable)
