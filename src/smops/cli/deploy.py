"""`smops deploy`: an Approved model package to an endpoint."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
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
    flags.model_package_flags(p, "deploy the newest Approved package of this group instead of an ARN")
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
        type=flags.positive_minutes,
        default=60.0,
        metavar="MINUTES",
        help="how long to wait for the endpoint (default 60)",
    )
    p.flag("--tag", action="append", type=flags.key_value, metavar="KEY=VALUE", help="extra tag, repeatable")
    flags.aws_flags(p)
