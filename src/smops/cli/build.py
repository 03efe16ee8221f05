"""`smops build`: render, upsert, run and wait for a SageMaker Pipeline."""

from __future__ import annotations

import argparse

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "build",
        "smops.build.build:run",
        "upsert a SageMaker Pipeline, run it and wait for it",
        "Render the pipeline definition, create or update the pipeline (only when it changed),\n"
        "start an execution and wait for it, printing each step's transitions. Outputs\n"
        "pipeline-arn, execution-arn, execution-status and model-package-arn.\n\n"
        "The registered package's metrics (its ModelMetrics reports and numeric customer\n"
        "metadata) are compared with a baseline's in the job summary; --gate checks them, and a\n"
        "failed gate sets the package Rejected with the reason in its approval description.\n\n"
        "The registered package gets a data baseline for smops drift, profiled from what the\n"
        "training job read (or --training-data), and a retraining's RetrainReason parameter is\n"
        "recorded on it with the run's URL (smops:retrain-reason, smops:retrain-run-url).",
        exits={
            0: "succeeded",
            1: "the execution failed or stopped, or a gate failed",
            3: "timed out waiting",
        },
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
        type=flags.key_value,
        metavar="NAME=VALUE",
        help="pipeline parameter for this execution, repeatable; checked against the "
        "definition's parameters (env: one per line)",
    )
    p.flag(
        "--tag",
        action="append",
        type=flags.key_value,
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
        type=flags.positive_minutes,
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
        "--render-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reuse the definition rendered before from the same pipeline files, arguments and "
        "environment (default); --no-render-cache renders every time, for a pipeline whose "
        "definition depends on the clock or on chance",
    )
    p.flag(
        "--dry-run",
        action="store_true",
        help="render and validate, print a diff against the deployed definition, change nothing",
    )
    p.flag(
        "--baseline-endpoint",
        metavar="ENDPOINT",
        help="compare the metrics with those of the package this endpoint serves; unset, with the "
        "newest other Approved package of the group",
    )
    p.flag(
        "--gate",
        action="append",
        type=flags.gate,
        metavar="GATE",
        help="quality gate on the registered package, repeatable: 'METRIC>=VALUE', 'METRIC<=VALUE' "
        "or 'METRIC:no-worse-than-baseline[:TOLERANCE]' (TOLERANCE an amount or a percentage, "
        "2%%); METRIC is a metric's name or its last parts (regression_metrics.mse, mse). A failed "
        "gate rejects the package and exits 1 (env: one per line)",
    )
    p.flag(
        "--approve-on-pass",
        action="store_true",
        help="approve the package when every --gate passed, so no human approves before staging",
    )
    p.flag(
        "--training-data",
        metavar="S3_URI",
        help="the CSV data (an object or a prefix) to baseline for `smops drift`, as the model is "
        "trained on it; unset, what the execution's training job read (its train channel, else its "
        "first). The baseline is recorded on the registered package",
    )
    p.flag(
        "--training-label-column",
        default="0",
        metavar="NAME_OR_INDEX",
        help="the training data's label, left out of the baseline since requests do not carry it "
        "(default 0: first, as SageMaker's built-in algorithms take CSV); 'none' keeps every column",
    )
    p.flag(
        "--pr-comment",
        action="store_true",
        help="in a pull request build, put the metrics and gates in one comment on the pull request, "
        "updated by later pushes (needs GITHUB_TOKEN with pull-requests: write; skipped with a "
        "notice when it cannot write, as on fork pull requests)",
    )
    flags.aws_flags(p)
