"""Mistakes on the command line are named where they are made: a misspelled flag or choice with
the one that was meant, abbreviations refused, and every command's --help listing its exit codes."""

from __future__ import annotations

import argparse
import re

import boto3
import botocore.config
import botocore.exceptions
import pytest
from conftest import run_smops

from smops import aws
from smops.cli import COMMANDS, _aws_error, flags, main, parser


def refusal(capsys, *argv: str) -> str:
    """The one error line of a command line refused by the parser (exit 2)."""
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(list(argv))
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_misspelled_flag_names_the_flag_meant_and_the_commands_help():
    result = run_smops("deploy", "--endpoint-name", "churn-staging", "--dryrun")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: unknown flag --dryrun (did you mean --dry-run?): see `smops deploy --help`"
    )


def test_a_misspelled_required_flag_is_named_rather_than_the_missing_one(capsys):
    line = refusal(capsys, "deploy", "--endpiont-name", "churn-staging")
    assert "unknown flag --endpiont-name (did you mean --endpoint-name?)" in line
    assert "required" not in line


def test_a_misspelled_flag_with_its_value_after_an_equals_sign(capsys):
    line = refusal(capsys, "cleanup", "--endpoint-name", "e", "--kep=3")
    assert "unknown flag --kep (did you mean --keep?): see `smops cleanup --help`" in line


def test_abbreviations_are_refused(capsys):
    line = refusal(capsys, "deploy", "--endpoint", "churn-staging")
    assert "unknown flag --endpoint (did you mean --endpoint-name?)" in line


def test_a_flag_nothing_resembles_is_named_without_a_guess(capsys):
    assert refusal(capsys, "approve", "--colour", "blue") == (
        "error: unknown flag --colour: see `smops approve --help`"
    )


def test_a_value_with_a_space_that_starts_with_dashes_is_a_value(outputs):
    args = parser().parse_args(["approve", "--model-package-group", "g", "--description", "--dry-run was wrong"])
    assert args.description == "--dry-run was wrong"


def test_a_misspelled_choice_or_command_names_the_one_meant(capsys):
    line = refusal(capsys, "deploy", "--endpoint-name", "e", "--strategy", "canry")
    assert "invalid choice: 'canry'" in line and "(did you mean 'canary'?)" in line
    line = refusal(capsys, "deplyo")
    assert "(did you mean 'deploy'?): see `smops --help`" in line


def test_a_misspelled_flag_of_smops_itself_is_named_before_the_command_complains(capsys):
    assert refusal(capsys, "--verison", "deploy") == (
        "error: unknown flag --verison (did you mean --version?): see `smops --help`"
    )


def test_a_stray_word_points_to_the_commands_own_help(capsys):
    line = refusal(capsys, "status", "--endpoint-name", "e", "extra")
    assert line == "error: unrecognized arguments: extra: see `smops status --help`"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_is_checked_here():
    assert len(subcommands()) == len(COMMANDS)


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_commands_help_lists_its_exit_codes(name):
    text = subcommands()[name].format_help()
    listed = re.search(r"exit codes: (.*?)(?:\n\n|$)", text, flags=re.S)
    assert listed, f"smops {name} --help lists no exit codes"
    codes = [int(code) for code in re.findall(r"(?:^|, )(\d+) ", " ".join(listed[1].split()))]
    assert {0, 2, 130} <= set(codes) and codes == sorted(codes)
    assert f"130 {flags.COMMON_EXITS[130]}" in " ".join(listed[1].split())


def test_the_top_level_help_lists_every_exit_code():
    text = " ".join(run_smops("--help").stdout.split())
    for code in ("0 done", "1 the remote operation failed", "2 bad input", "3 timed out", "130 interrupted"):
        assert code in text


# -- a misspelled region ------------------------------------------------------------------------

REGION_FIX = "pass --region us-east-1 or fix AWS_REGION or the profile's region"


def test_a_misspelled_region_flag_is_refused_naming_the_nearest_region(aws_env, capsys):
    assert main(["approve", "--model-package-group", "churn", "--region", "us-eats-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: region 'us-eats-1' is not an AWS region (did you mean us-east-1?): " + REGION_FIX)


def test_a_misspelled_aws_region_variable_is_refused_as_a_process():
    result = run_smops("status", "--model-package-group", "churn", env={"AWS_REGION": "eu-wset-1"})
    assert result.returncode == 2
    assert "region 'eu-wset-1' is not an AWS region (did you mean eu-west-1?)" in result.stderr


def test_every_region_botocore_knows_is_taken():
    for region in ("us-east-1", "eu-west-1", "ap-southeast-7", "cn-north-1", "us-gov-west-1"):
        aws.check_region(region)


def test_the_emulator_answers_an_unknown_region_as_aws_does_with_no_answer(aws_env):
    """On AWS an unknown region's endpoint does not resolve (EndpointConnectionError); the
    emulator closes the connection: a connection-level failure either way, never an HTTP error,
    and smops words both the same way."""
    no_retries = botocore.config.Config(retries={"total_max_attempts": 1})
    lost = boto3.client("sagemaker", region_name="us-eats-1", config=no_retries)
    with pytest.raises(botocore.exceptions.BotoCoreError) as raised:
        lost.list_model_package_groups()
    assert not isinstance(raised.value, botocore.exceptions.ClientError)
    unresolved = botocore.exceptions.EndpointConnectionError(endpoint_url="https://api.sagemaker.us-eats-1.amazonaws.com/")
    for error in (raised.value, unresolved):
        failure = _aws_error(error)
        assert failure.exit_code == 1 and str(failure).startswith("could not reach AWS: ")
        assert "check the network, the region and AWS_ENDPOINT_URL" in str(failure)
    # A known region still gets its answer.
    assert "ModelPackageGroupSummaryList" in boto3.client("sagemaker", config=no_retries).list_model_package_groups()



def test_the_emulator_refuses_a_misspelled_region_it_would_print_as_aws_region():
    result = run_smops("emulator", "--region", "eu-wset-1", timeout=120)  # a safety net: it would serve forever
    assert result.returncode == 2 and "region 'eu-wset-1' is not an AWS region (did you mean eu-west-1?)" in result.stderr
    assert "export" not in result.stdout
