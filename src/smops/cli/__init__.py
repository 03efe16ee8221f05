"""The `smops` command line: argparse sub-commands, exit codes and one-line errors.

Every flag may also come from an environment variable SMOPS_<FLAG_IN_CAPS> (`--role-arn` from
SMOPS_ROLE_ARN); the composite actions pass their inputs that way. An empty variable counts as
unset. Each sub-command's flags live in a module of their own here, with no imports beyond
argparse; the implementation is imported only when the command runs, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import traceback
from collections.abc import Sequence

from smops import __version__, gha
from smops.cli import (
    approve, baseline, bridge, build, cleanup, demo, deploy, dispatch, doctor, drift, emulator, flags, init,
    rollback, setup_aws, smoke_test, status, teardown,
)
from smops.cli.flags import env_name
from smops.errors import BadInput, RemoteFailure, SmopsError

__all__ = ["env_name", "main", "parser"]

# The sub-commands, in the order `smops --help` lists them.
COMMANDS = [
    build, deploy, rollback, smoke_test, approve, status, cleanup, drift, baseline, dispatch, bridge,
    init, setup_aws, doctor, teardown, emulator, demo,
]


def parser() -> flags.Parser:
    top = flags.Parser(
        prog="smops",
        description="From a push on GitHub to a production Amazon SageMaker endpoint.",
        epilog="Run `smops COMMAND --help` for a command's flags and what its exit codes mean.\n"
        + flags.exit_codes({0: "done", 1: "the remote operation failed", 3: "timed out waiting"}),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"smops {__version__}")
    subparsers = top.add_subparsers(
        title="commands", dest="command", required=True, parser_class=flags.Parser, metavar="COMMAND"
    )
    for command in COMMANDS:
        command.add(subparsers)
    return top


def _report(exc: SmopsError) -> None:
    gha.error(str(exc), title=f"smops failed ({type(exc).__name__})")
    if exc.details:
        gha.log(exc.details)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    module_name, _, function_name = args.target.partition(":")
    import botocore.exceptions

    try:
        run = getattr(importlib.import_module(module_name), function_name)
        outputs = run(args)
    except (SmopsError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        error = exc if isinstance(exc, SmopsError) else _aws_error(exc)
        _report(error)
        _emit(args, error.outputs)
        return error.exit_code
    except KeyboardInterrupt:
        gha.error("interrupted")
        return 130
    except Exception:  # a bug in smops: show the traceback, never a bare crash
        gha.error("smops hit an internal error: please report it with the traceback below")
        traceback.print_exc()
        return 1
    _emit(args, outputs or {})
    return 0


def _aws_error(exc: Exception) -> SmopsError:
    """What an error botocore raised means for the user: bad input (2) or a remote failure (1)."""
    import botocore.exceptions as aws_errors

    from smops import aws

    if isinstance(exc, aws_errors.NoCredentialsError):
        return BadInput(
            "no AWS credentials found",
            "in Actions add aws-actions/configure-aws-credentials with role-to-assume; locally set AWS_PROFILE",
        )
    if isinstance(exc, (aws_errors.SSOError, aws_errors.TokenRetrievalError)):
        return BadInput(f"AWS SSO credentials are not usable: {exc}", "run `aws sso login` and try again")
    if isinstance(exc, (aws_errors.PartialCredentialsError, aws_errors.ParamValidationError)):
        return BadInput(str(exc).replace("\n", " "), "fix the value named above")
    if isinstance(exc, aws_errors.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}:
            return RemoteFailure(
                f"the AWS credentials expired during {exc.operation_name}",
                "ask for a longer session (configure-aws-credentials role-duration-seconds, up to the "
                "role's MaxSessionDuration); what was started in AWS goes on",
            )
        if code in {"AccessDenied", "AccessDeniedException"}:
            problem, fix = aws.access_denied(exc) or (
                message, "allow it in the role's policy (infra/README.md shows what each role needs)"
            )
            return RemoteFailure(f"AWS denied {exc.operation_name}: {problem}", fix)
        return RemoteFailure(
            f"AWS refused {exc.operation_name}: {code}: {message}",
            "check the message, the role's permissions and the service quotas",
        )
    return RemoteFailure(f"could not reach AWS: {exc}", "check the network, the region and AWS_ENDPOINT_URL")


def _emit(args, outputs: dict) -> None:
    """Outputs go to GITHUB_OUTPUT and, with --json, to stdout, on success and on failure."""
    if not outputs:
        return
    gha.set_outputs(outputs)
    if getattr(args, "json", False):
        print(json.dumps(outputs, indent=2, sort_keys=True))
