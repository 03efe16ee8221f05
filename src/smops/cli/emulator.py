"""`smops emulator`: the embedded AWS for local experiments."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "emulator",
        "smops.emulator:run",
        "run the embedded AWS emulator for local experiments",
        "Start moto's server extended with what SageMaker workflows need (pipeline execution\n"
        "life cycle, steps, model registration). Prints the AWS_ENDPOINT_URL to export and\n"
        "runs until Ctrl-C.",
        exits={0: "stopped with Ctrl-C or SIGTERM", 1: "it could not start"},
    )
    p.flag("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.flag(
        "--step-seconds",
        type=float,
        default=None,
        help="simulated duration of each pipeline step (default 1)",
    )
    flags.fail_step_flag(p)
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
