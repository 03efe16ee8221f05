"""`smops setup-aws`: the OIDC roles and the approval bridge, deployed from the starters."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "setup-aws",
        "smops.onboard.setup_aws:run",
        "deploy the GitHub OIDC roles and the approval bridge from the starters",
        "Deploy, or update, infra/github-oidc.yaml and infra/approval-bridge.yaml in the current\n"
        "account with the values of the starters smops init wrote: build the bridge's Lambda\n"
        "code and upload it to the artifact bucket, create the model package group, run each\n"
        "stack's change set and wait for it with its events as progress, then write the roles'\n"
        "ARNs into the starters (the monitor role into monitor.yml; the pipeline's and model's\n"
        "roles, which the stack creates when the starters name none, into build.yml and\n"
        "deploy.yml). --dry-run shows the change sets and changes nothing. Outputs\n"
        "oidc-stack-action and bridge-stack-action (created, updated, unchanged; with --dry-run\n"
        "create, update, unchanged), build-role-arn, staging-role-arn, production-role-arn,\n"
        "monitor-role-arn, pipeline-role-arn, model-role-arn, bridge-function-arn and\n"
        "bridge-secret-arn.",
        exits={0: "deployed", 1: "a stack failed (rolled back)", 3: "timed out waiting"},
    )
    flags.onboarding_flags(p)
    p.flag("--endpoint-name-prefix", help="endpoints the deploy roles may manage (default: what the two endpoint names share)")
    p.flag("--model-monitor-reads", action="store_true",
           help="let the monitor role read existing Model Monitor schedules (smops drift --monitoring-schedule)")
    p.flag("--bridge-zip", metavar="PATH", help="the bridge's code from smops bridge package (default: build it now, which needs PyPI)")
    p.flag("--github-api-url", help="GitHub API URL the bridge calls (default https://api.github.com; https://HOST/api/v3 for GHES)")
    p.flag("--dry-run", action="store_true", help="create and show each stack's change set, then delete it: change nothing")
    p.flag("--timeout", type=flags.positive_minutes, default=30.0, metavar="MINUTES", help="how long to wait for each stack (default 30)")
    flags.aws_flags(p)
