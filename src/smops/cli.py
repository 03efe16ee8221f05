"""The `smops` command line: argparse sub-commands, exit codes and one-line errors.

Every flag may also come from an environment variable SMOPS_<FLAG_IN_CAPS> (`--role-arn` from
SMOPS_ROLE_ARN); the composite actions pass their inputs that way. An empty variable counts as
unset. Implementations are imported inside each command so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from smops import __version__, gha
from smops.errors import BadInput, RemoteFailure, SmopsError

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_name(flag: str) -> str:
    return "SMOPS_" + flag.lstrip("-").replace("-", "_").upper()


def env_value(flag: str) -> str | None:
    value = os.environ.get(env_name(flag), "")
    return value if value.strip() else None


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2, per the contract."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.env_errors: list[str] = []

    def error(self, message: str):  # type: ignore[override]
        gha.error(f"{message}: see `{self.prog} --help`")
        sys.exit(2)

    def parse_known_args(self, args=None, namespace=None):
        # Reported only now, so a bad variable breaks the command that reads it, not --help.
        if self.env_errors:
            self.error(self.env_errors[0])
        return super().parse_known_args(args, namespace)

    def flag(self, *names: str, **kwargs) -> argparse.Action:
        """add_argument with the SMOPS_* environment fallback and `(env: …)` in the help."""
        long_name = next(n for n in names if n.startswith("--"))
        raw = env_value(long_name)
        if raw is not None:
            try:
                kwargs["default"] = _from_env(raw, kwargs)
            except (ValueError, argparse.ArgumentTypeError) as exc:
                self.env_errors.append(f"{env_name(long_name)}={raw!r} is invalid ({exc})")
            kwargs.pop("required", None)
        if kwargs.get("action") == "append":
            kwargs.setdefault("default", [])
            kwargs["action"] = _AppendReplacingDefault
        help_text = kwargs.get("help", "")
        if help_text != argparse.SUPPRESS:
            kwargs["help"] = f"{help_text} (env: {env_name(long_name)})"
        return self.add_argument(*names, **kwargs)


class _AppendReplacingDefault(argparse._AppendAction):
    """A repeatable flag given on the command line replaces its SMOPS_* list, like any flag."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is self.default:
            setattr(namespace, self.dest, [])
        super().__call__(parser, namespace, values, option_string)


def _from_env(raw: str, kwargs: dict):
    """Convert a SMOPS_* value as argparse would convert the flag; lists are one per line."""
    action = kwargs.get("action")
    if action in ("store_true", argparse.BooleanOptionalAction):
        word = raw.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise ValueError("use true or false")
        return word in TRUE_WORDS
    convert = kwargs.get("type", str)
    if action == "append":
        return [convert(line.strip()) for line in raw.splitlines() if line.strip()]
    value = convert(raw.strip())
    if kwargs.get("choices") and value not in kwargs["choices"]:
        raise ValueError(f"choose from {', '.join(map(str, kwargs['choices']))}")
    return value


def key_value(text: str) -> tuple[str, str]:
    """NAME=VALUE, as given to --parameter and --tag."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def positive_minutes(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 minutes, got {text}")
    return value


def _json_flag(parser: Parser) -> None:
    parser.flag(
        "--json", action="store_true", help="also print the outputs as one JSON object on stdout"
    )


def _aws_flags(parser: Parser) -> None:
    parser.flag("--region", help="AWS region; defaults to AWS_REGION or the profile's region")
    parser.flag("--profile", help="named AWS profile; defaults to AWS_PROFILE or the default chain")
    _json_flag(parser)


def _command(subparsers, name: str, target: str, help_text: str, description: str) -> Parser:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(target=target)
    return parser


def _build_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "build",
        "smops.build:run",
        "upsert a SageMaker Pipeline, run it and wait for it",
        "Render the pipeline definition, create or update the pipeline (only when it changed),\n"
        "start an execution and wait for it, printing each step's transitions. Outputs\n"
        "pipeline-arn, execution-arn, execution-status and model-package-arn.\n\n"
        "exit codes: 0 succeeded, 1 the execution failed or stopped, 2 bad input (nothing was\n"
        "changed), 3 timed out waiting",
    )
    p.flag(
        "--pipeline",
        required=True,
        metavar="SPEC",
        help="the pipeline: path/to/pipeline.py[:func], package.module[:func] (func defaults to "
        "get_pipeline) returning an SDK Pipeline or a definition, or a .json definition",
    )
    p.flag("--pipeline-name", required=True, help="name of the SageMaker Pipeline to upsert")
    p.flag(
        "--role-arn",
        required=True,
        help="IAM role the pipeline runs as (also passed to the pipeline function as role=)",
    )
    p.flag("--default-bucket", help="passed to the pipeline function as default_bucket=")
    p.flag(
        "--model-package-group", help="passed to the pipeline function as model_package_group_name="
    )
    p.flag("--base-job-prefix", help="passed to the pipeline function as base_job_prefix=")
    p.flag("--project-name", help="passed to the pipeline function as sagemaker_project_name=")
    p.flag(
        "--parameter",
        action="append",
        type=key_value,
        metavar="NAME=VALUE",
        help="pipeline parameter for this execution, repeatable; checked against the "
        "definition's parameters (env: one per line)",
    )
    p.flag(
        "--tag",
        action="append",
        type=key_value,
        metavar="KEY=VALUE",
        help="extra tag on the pipeline, repeatable",
    )
    p.flag("--description", help="pipeline description")
    p.flag(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait for the execution to finish (default); --no-wait returns once it started",
    )
    p.flag(
        "--timeout",
        type=positive_minutes,
        default=120.0,
        metavar="MINUTES",
        help="how long to wait for the execution (default 120)",
    )
    p.flag(
        "--stop-on-cancel",
        action="store_true",
        help="stop the execution when smops is interrupted (SIGINT/SIGTERM) or times out",
    )
    p.flag(
        "--dry-run",
        action="store_true",
        help="render and validate, print a diff against the deployed definition, change nothing",
    )
    _aws_flags(p)


def _model_package_flags(p: Parser, group_help: str) -> None:
    p.flag("--model-package-arn", help="the model package (version) ARN")
    p.flag("--model-package-group", help=group_help)


def _deploy_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "deploy",
        "smops.deploy:run",
        "deploy an approved model package to an endpoint (blue/green, auto-rollback)",
        "Create a Model and an EndpointConfig for an Approved model package, then create the\n"
        "endpoint or update it with a blue/green or rolling deployment and wait until it is\n"
        "InService. Fails (exit 1) when SageMaker rolled the update back. Re-running the same\n"
        "deploy changes nothing (action=unchanged).\n\n"
        "exit codes: 0 deployed or unchanged, 1 the deployment failed or rolled back, 2 bad\n"
        "input (nothing was created), 3 timed out waiting",
    )
    _model_package_flags(p, "deploy the newest Approved package of this group instead of an ARN")
    p.flag("--endpoint-name", required=True, help="endpoint to create or update")
    p.flag("--role-arn", help="IAM role the model runs as; required unless the endpoint is unchanged")
    p.flag("--environment", help="label such as staging or production, for tags and the summary")
    p.flag("--instance-type", default="ml.m5.large", help="instance type (default ml.m5.large)")
    p.flag("--instance-count", type=int, default=1, help="instance count (default 1)")
    p.flag("--variant-name", default="AllTraffic", help="production variant name (default AllTraffic)")
    p.flag(
        "--serverless-memory-mb",
        type=int,
        help="deploy serverless with this much memory (1024-6144, steps of 1024) instead of instances",
    )
    p.flag(
        "--serverless-max-concurrency",
        type=int,
        help="serverless maximum concurrent invocations (default 5 when serverless)",
    )
    p.flag("--data-capture-uri", help="s3:// prefix: capture requests and responses for Model Monitor")
    p.flag(
        "--data-capture-percent",
        type=int,
        default=100,
        help="percent of requests to capture when --data-capture-uri is set (default 100)",
    )
    p.flag(
        "--strategy",
        choices=["all-at-once", "canary", "linear", "rolling"],
        default="all-at-once",
        help="how an existing endpoint moves to the new config: blue/green all-at-once (default), "
        "canary or linear traffic shifting, or a rolling update",
    )
    p.flag("--canary-size", type=int, default=10, help="canary: percent of capacity first (default 10)")
    p.flag("--linear-step", type=int, default=20, help="linear: percent shifted per step (default 20)")
    p.flag("--batch-size", type=int, default=25, help="rolling: percent per batch (default 25)")
    p.flag(
        "--wait-interval",
        type=int,
        help="seconds to bake after each traffic shift (0-3600, default 300); an all-at-once update "
        "without alarms, wait or timeout uses SageMaker's default (no bake)",
    )
    p.flag(
        "--termination-wait",
        type=int,
        default=0,
        help="seconds to keep the old fleet after all traffic moved (0-3600, default 0)",
    )
    p.flag(
        "--max-execution-timeout",
        type=int,
        help="seconds before SageMaker abandons the deployment (600-28800; SageMaker's default if unset)",
    )
    p.flag(
        "--alarm",
        action="append",
        metavar="NAME",
        help="CloudWatch alarm that rolls the deployment back, repeatable (1-10)",
    )
    p.flag(
        "--create-alarms",
        action="store_true",
        help="create or update a 5XX-errors and a p99-latency alarm on the variant and roll back on them",
    )
    p.flag(
        "--latency-threshold-ms",
        type=int,
        default=1000,
        help="p99 model latency that trips the --create-alarms latency alarm (default 1000)",
    )
    p.flag(
        "--require-on-endpoint",
        metavar="ENDPOINT",
        help="promotion guard: refuse unless this endpoint is InService serving the same package",
    )
    p.flag(
        "--wait-if-busy",
        action="store_true",
        help="wait for an update already in progress instead of refusing",
    )
    p.flag(
        "--timeout",
        type=positive_minutes,
        default=60.0,
        metavar="MINUTES",
        help="how long to wait for the endpoint (default 60)",
    )
    p.flag("--tag", action="append", type=key_value, metavar="KEY=VALUE", help="extra tag, repeatable")
    _aws_flags(p)


def _smoke_test_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "smoke-test",
        "smops.smoke:run",
        "invoke an endpoint and check the answer",
        "Invoke the endpoint --count times with the payload and fail (exit 1) on a non-2xx\n"
        "answer, a missing --expect-contains text, or a median latency over --max-latency-ms.",
    )
    p.flag("--endpoint-name", required=True, help="endpoint to invoke")
    p.flag("--payload", required=True, metavar="FILE", help="request body file")
    p.flag("--content-type", help="request Content-Type (default from the file: .csv text/csv, else application/json)")
    p.flag("--accept", help="Accept header (default: the endpoint's choice)")
    p.flag("--count", type=int, default=3, help="number of invocations (default 3)")
    p.flag("--expect-contains", metavar="TEXT", help="fail unless every answer contains TEXT")
    p.flag("--max-latency-ms", type=float, help="fail when the median latency exceeds this")
    _aws_flags(p)


def _approve_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "approve",
        "smops.registry:run_approve",
        "approve or reject a model package",
        "Set a model package's approval status. With --model-package-group, acts on the newest\n"
        "PendingManualApproval package. Already in that status: says so and changes nothing.",
    )
    _model_package_flags(p, "act on the newest PendingManualApproval package of this group")
    p.flag("--status", choices=["Approved", "Rejected"], default="Approved", help="new status (default Approved)")
    p.flag("--description", help="approval description, e.g. who approved and why")
    _aws_flags(p)


def _cleanup_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "cleanup",
        "smops.cleanup:run",
        "delete old endpoint configs and models smops created for an endpoint",
        "Delete the endpoint configs (and their models) that smops created for the endpoint,\n"
        "except the one it serves and the --keep newest. Never touches untagged resources.",
    )
    p.flag("--endpoint-name", required=True, help="endpoint whose old configs to delete")
    p.flag("--keep", type=int, default=2, help="newest configs to keep besides the current one (default 2)")
    p.flag("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    _aws_flags(p)


def _dispatch_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "dispatch",
        "smops.bridge.relay:run_dispatch",
        "send the model_approved repository_dispatch (the approval bridge, by hand)",
        "Run the approval bridge on a saved 'SageMaker Model Package State Change' event\n"
        "(--event), exactly as the Lambda would, or re-send the dispatch for an Approved model\n"
        "package (--model-package-arn). Outputs action (dispatched, duplicate or ignored),\n"
        "model-package-arn, repository, event-type and event-id, or reason when nothing was sent.\n\n"
        "The repository is --repository when given, else the group's entry in\n"
        "SMOPS_REPOSITORY_MAP (JSON), else the group's smops:github-repository tag.\n\n"
        "exit codes: 0 dispatched or nothing to do, 1 GitHub refused or failed, 2 bad input\n"
        "(nothing was sent)",
    )
    p.flag("--event", metavar="FILE", help="saved 'SageMaker Model Package State Change' event (JSON)")
    p.flag("--model-package-arn", help="re-send the dispatch for this Approved model package")
    p.flag("--repository", metavar="OWNER/REPO", help="repository to dispatch to, for every group")
    p.flag("--event-type", default="model_approved", help="repository_dispatch event type (default model_approved)")
    p.flag("--github-api-url", help="GitHub API URL (default GITHUB_API_URL or https://api.github.com)")
    p.flag(
        "--github-secret-arn",
        help="Secrets Manager secret with a token or a GitHub App's key (default: GITHUB_TOKEN)",
    )
    _aws_flags(p)


def _bridge_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "bridge",
        "smops.bridge.package:run",
        "build the approval bridge's Lambda package",
        "Build a zip with smops and PyGithub (with its dependencies, as manylinux x86_64 wheels)\n"
        "for the approval bridge Lambda; boto3 comes from the Lambda runtime. Needs pip and\n"
        "access to PyPI (or PIP_INDEX_URL). Outputs zip, sha256 and python-version.",
    )
    p.add_argument("action", choices=["package"], help="what to do: package")
    p.flag("--out", default="dist/bridge.zip", help="where to write the zip (default dist/bridge.zip)")
    p.flag(
        "--python-version",
        choices=["3.11", "3.12", "3.13"],
        default="3.12",
        help="the Lambda runtime's Python (default 3.12, as in infra/approval-bridge.yaml)",
    )
    _json_flag(p)


def _fail_step_flag(parser: Parser) -> None:
    parser.flag(
        "--fail-step",
        action="append",
        type=key_value,
        metavar="STEP=REASON",
        help="make the named pipeline step fail with REASON (to see a failure reported), repeatable",
    )


def _emulator_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "emulator",
        "smops.emulator:run",
        "run the embedded AWS emulator for local experiments",
        "Start moto's server extended with what SageMaker workflows need (pipeline execution\n"
        "life cycle, steps, model registration). Prints the AWS_ENDPOINT_URL to export and\n"
        "runs until Ctrl-C.",
    )
    p.flag("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.flag(
        "--step-seconds",
        type=float,
        default=None,
        help="simulated duration of each pipeline step (default 1)",
    )
    _fail_step_flag(p)
    p.flag(
        "--region",
        default="us-east-1",
        help="region printed as AWS_REGION and where --model-package groups go (default us-east-1)",
    )
    p.flag(
        "--model-package",
        action="append",
        metavar="ARN_OR_GROUP",
        help="register an Approved stand-in model package at start, answering to this version ARN "
        "or as the newest of this group, for rehearsals of deploy; repeatable",
    )


def _demo_parser(subparsers) -> None:
    p = _command(
        subparsers,
        "demo",
        "smops.demo:run",
        "run the whole lifecycle on the embedded emulator",
        "Start the embedded emulator and a GitHub API stand-in, then take the example project\n"
        "through build, approval, the approval bridge, staging, smoke test, a production canary,\n"
        "a second version whose canary trips an alarm and rolls back, and cleanup: each phase a\n"
        "real smops process. Exits 0 only when every phase did what the lifecycle needs.",
    )
    p.flag("--report", default="smops-demo-report.md", help="where to write the Markdown report (default smops-demo-report.md)")
    _fail_step_flag(p)
    p.flag("--verbose", action="store_true", help="show every command's own log")


COMMANDS: list[Callable] = [
    _build_parser,
    _deploy_parser,
    _smoke_test_parser,
    _approve_parser,
    _cleanup_parser,
    _dispatch_parser,
    _bridge_parser,
    _emulator_parser,
    _demo_parser,
]


def parser() -> Parser:
    top = Parser(
        prog="smops",
        description="From a push on GitHub to a production Amazon SageMaker endpoint.",
        epilog="Run `smops COMMAND --help` for a command's flags. Exit codes: 0 done, 1 the "
        "remote operation failed, 2 bad input (nothing changed), 3 timed out.",
    )
    top.add_argument("--version", action="version", version=f"smops {__version__}")
    subparsers = top.add_subparsers(
        title="commands", dest="command", required=True, parser_class=Parser, metavar="COMMAND"
    )
    for add in COMMANDS:
        add(subparsers)
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
            return RemoteFailure(
                f"AWS denied {exc.operation_name}: {message}",
                "grant the role that action (infra/github-oidc.yaml lists what smops needs)",
            )
        return RemoteFailure(
            f"AWS refused {exc.operation_name}: {code}: {message}",
            "check the message, the role's permissions and the service quotas",
        )
    return RemoteFailure(f"could not reach AWS: {exc}", "check the network, the region and AWS_ENDPOINT_URL")


def _emit(args: argparse.Namespace, outputs: dict) -> None:
    """Outputs go to GITHUB_OUTPUT and, with --json, to stdout, on success and on failure."""
    if not outputs:
        return
    gha.set_outputs(outputs)
    if getattr(args, "json", False):
        print(json.dumps(outputs, indent=2, sort_keys=True))
