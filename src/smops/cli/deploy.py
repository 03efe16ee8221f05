"""`smops deploy`: an Approved model package to an endpoint."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "deploy",
        "smops.deploy.deploy:run",
        "deploy an approved model package to an endpoint (blue/green, auto-rollback)",
        "Create a Model and an EndpointConfig for an Approved model package, then create the\n"
        "endpoint or update it with a blue/green or rolling deployment and wait until it is\n"
        "InService. Fails (exit 1) when SageMaker rolled the update back. Re-running the same\n"
        "deploy changes nothing (action=unchanged). An endpoint registered for automatic scaling\n"
        "keeps its registration and its live instance count through every update. --dry-run\n"
        "prints the plan and changes nothing.",
        exits={
            0: "deployed or unchanged (also when the update completed and another deployment then "
               "replaced it: a warning names it)",
            1: "the deployment failed or SageMaker rolled it back",
            2: "bad input, or another deployment in progress without --wait-if-busy (named by its "
               "config, package and run; nothing is left created)",
            3: "timed out waiting",
        },
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
    flags.rollout_flags(p)
    p.flag(
        "--require-on-endpoint",
        metavar="ENDPOINT",
        help="promotion guard: refuse unless this endpoint is InService serving the same package",
    )
    p.flag(
        "--autoscaling-min",
        type=int,
        help="register the variant for automatic scaling with at least this many instances "
        "(with --autoscaling-max and --autoscaling-target); unset, an existing registration is kept as it is",
    )
    p.flag("--autoscaling-max", type=int, help="automatic scaling: at most this many instances")
    p.flag(
        "--autoscaling-target",
        type=float,
        help="automatic scaling: invocations per instance per minute to track (SageMakerVariantInvocationsPerInstance)",
    )
    p.flag(
        "--autoscaling-scale-in-cooldown",
        type=int,
        default=300,
        help="automatic scaling: seconds after a scale-in before the next one (default 300)",
    )
    p.flag(
        "--autoscaling-scale-out-cooldown",
        type=int,
        default=300,
        help="automatic scaling: seconds after a scale-out before the next one (default 300)",
    )
    flags.wait_flags(p, "the endpoint")
    flags.dry_run_flag(
        p,
        "show the plan (what would serve, the config diff, the strategy's timeline, alarms, autoscaling, "
        "instance-hours) and change nothing; exit 2 when a real deploy would be refused",
    )
    p.flag("--tag", action="append", type=flags.key_value, metavar="KEY=VALUE", help="extra tag, repeatable")
    flags.aws_flags(p)
