"""`smops init`: the starters of a consumer repository, filled in."""

from __future__ import annotations

import argparse

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "init",
        "smops.onboard.init:run",
        "write the build, deploy, monitor and rollback starters into a repository, filled in",
        "Write .github/workflows/build.yml, deploy.yml, monitor.yml and rollback.yml, filled in\n"
        "with your pipeline, names, region and roles (production captures its traffic to\n"
        "s3://BUCKET/smops-capture/ENDPOINT for the monitor's drift check), a pipeline skeleton\n"
        "when the pipeline file does not exist, and a smoke-test payload placeholder. Asks for\n"
        "what the flags do not give (with a default in brackets); with --no-input, or no\n"
        "terminal, takes the defaults. Values already in the starters are kept, so running it\n"
        "again changes nothing but adding the starters that are missing. Never overwrites an\n"
        "existing starter without --force, nor an existing pipeline or payload. Outputs written\n"
        "and unchanged (lists of files).",
        exits={0: "done", 2: "bad input or a starter would be overwritten (nothing written)"},
    )
    p.flag("--dir", default=".", help="the repository to write into (default: the current directory)")
    p.flag("--name", help="base of the default names (default: the directory's name, in lower case)")
    p.flag("--pipeline", help="pipeline file or .json definition (default ml/pipeline.py)")
    p.flag("--pipeline-name", help="SageMaker Pipeline name, lower case (default: --name)")
    p.flag("--model-package-group", help="model package group, lower case (default: --name)")
    p.flag("--region", help="AWS region (default AWS_REGION)")
    p.flag("--pipeline-role-arn", help="IAM role the pipeline runs as (default: the one smops setup-aws creates)")
    p.flag("--model-role-arn", help="IAM role the deployed model runs as (default: --pipeline-role-arn, else the one setup-aws creates)")
    p.flag("--default-bucket", help="S3 bucket for the pipeline's code and artifacts (default sagemaker-REGION-ACCOUNT)")
    p.flag("--staging-endpoint-name", help="staging endpoint, lower case (default NAME-staging)")
    p.flag("--production-endpoint-name", help="production endpoint, lower case (default NAME-production)")
    p.flag("--smoke-payload", help="request file the smoke test sends (default ml/smoke-payload.csv)")
    p.flag(
        "--sdk-extra",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the pipeline is written with the SageMaker Python SDK (default: when it is a .py file)",
    )
    p.flag("--capture-percent", type=int, metavar="PERCENT",
           help="percent of production's requests captured for the drift check; 0 captures nothing (default 100)")
    p.flag("--no-monitor", action="store_true", help="leave out the monitor starter (the scheduled drift check)")
    p.flag("--no-rollback", action="store_true", help="leave out the rollback starter")
    p.flag("--toolkit-repository", help="where the toolkit's workflows come from (default ORG/sagemaker-mlops)")
    p.flag("--toolkit-ref", help="the toolkit's release the starters call (default v1)")
    p.flag("--force", action="store_true", help="overwrite starters that differ from what init would write")
    p.flag("--no-input", action="store_true", help="ask nothing: take the defaults, fail on what has none")
    flags.json_flag(p)
