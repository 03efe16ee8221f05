"""Every piece of advice in a refusal works when followed.

Each case is refused (exit 2) with a fix in its error line. The test follows the fix as a user
would: it runs the smops command line the fix names (then the refused command again), or changes
the refused command line as the fix says (`pass --flag VALUE`, `did you mean --flag?`); the
command must then do what it was asked. Advice that sends the user round in circles (deploy says
approve, approve says there is nothing to approve) fails here.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import pytest
from conftest import ROLE_ARN
from test_deploy import IMAGE

from smops.cli import main
from smops.emulator import settings

GROUP = "churn"
ENDPOINT = "churn-staging"
# The fix's command line: `smops COMMAND --flag value ...` at the end of the error line.
COMMAND = re.compile(r"smops ([a-z-]+(?: --[a-z-]+ [^\s,;()]+)+)\s*$")
PASS_FLAG = re.compile(r"pass (--[a-z-]+) ([^\s,;()]+)")
MEANT_FLAG = re.compile(r"unknown flag (--[a-z-]+) \(did you mean (--[a-z-]+)\?\)")


@pytest.fixture(autouse=True)
def fast_endpoints(aws_env):
    settings.endpoint_seconds = 0.05
    settings.time_scale = 0.001


def register(status: str, region: str = "us-east-1") -> str:
    sm = boto3.client("sagemaker", region_name=region)
    if not sm.list_model_package_groups(NameContains=GROUP)["ModelPackageGroupSummaryList"]:
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
    return sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus=status,
        InferenceSpecification={"Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]


def deployed() -> str:
    arn = register("Approved")
    assert main(["deploy", "--endpoint-name", ENDPOINT, "--role-arn", ROLE_ARN, "--model-package-arn", arn]) == 0
    return arn


@dataclass
class Case:
    id: str
    setup: Callable[[], object]  # what the account holds; returns what {given} in argv stands for
    argv: list[str]


DEPLOY = ["deploy", "--endpoint-name", ENDPOINT, "--role-arn", ROLE_ARN]
CASES = [
    Case("deploy-group-holding-only-a-rejected-package", lambda: register("Rejected"), [*DEPLOY, "--model-package-group", GROUP]),
    Case("deploy-group-holding-a-pending-package", lambda: register("PendingManualApproval"),
         [*DEPLOY, "--model-package-group", GROUP]),
    Case("deploy-pending-package", lambda: register("PendingManualApproval"), [*DEPLOY, "--model-package-arn", "{given}"]),
    Case("deploy-rejected-package", lambda: register("Rejected"), [*DEPLOY, "--model-package-arn", "{given}"]),
    Case("approve-group-holding-only-a-rejected-package", lambda: register("Rejected"),
         ["approve", "--model-package-group", GROUP]),
    Case("deploy-package-of-another-region", lambda: register("Approved", region="eu-west-1"),
         [*DEPLOY, "--model-package-arn", "{given}"]),
    Case("deploy-another-variant-name", deployed, [*DEPLOY, "--model-package-arn", "{given}", "--variant-name", "Blue",
                                                   "--instance-count", "2"]),
    Case("deploy-misspelled-flag", lambda: register("Approved"), [*DEPLOY, "--model-package-group", GROUP, "--dryrun"]),
    Case("deploy-misspelled-region", lambda: register("Approved"),
         [*DEPLOY, "--model-package-group", GROUP, "--region", "us-eats-1"]),
]


def followed(argv: list[str], line: str) -> tuple[list[str] | None, list[str]]:
    """What following the fix means: (a command to run first, or None; the command line to run)."""
    command = COMMAND.search(line)
    if command:
        return shlex.split(command[1]), argv
    meant = MEANT_FLAG.search(line)
    if meant:
        return None, [meant[2] if word == meant[1] else word for word in argv]
    flag = PASS_FLAG.search(line)
    assert flag, f"the fix names neither a command nor a flag to pass: {line}"
    changed = list(argv)
    if flag[1] in changed:
        changed[changed.index(flag[1]) + 1] = flag[2]
    else:
        changed += [flag[1], flag[2]]
    return None, changed


def smops(argv: list[str]) -> int:
    """main()'s exit code, also when the parser refuses (it exits)."""
    try:
        return main(argv)
    except SystemExit as exited:
        return int(exited.code)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_advice_works_when_followed(case, capsys, outputs):
    given = case.setup()
    argv = [word.replace("{given}", str(given)) for word in case.argv]
    capsys.readouterr()
    assert smops(argv) == 2, "the case must be refused"
    line = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("error:"))
    first, again = followed(argv, line)
    if first:
        assert main(first) == 0, f"the advised `smops {shlex.join(first)}` failed: {capsys.readouterr().err}"
    assert main(again) == 0, f"after following {line!r}: {capsys.readouterr().err}"
    if again[0] == "deploy" and "--dry-run" not in again:
        region = again[again.index("--region") + 1] if "--region" in again else None
        served = boto3.client("sagemaker", region_name=region).describe_endpoint(EndpointName=ENDPOINT)
        assert served["EndpointStatus"] == "InService"
