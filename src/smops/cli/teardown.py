"""`smops teardown`: delete what smops made for a project, after its last run."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "teardown",
        "smops.onboard.teardown:run",
        "delete the endpoints, configs, models, alarms, capture data, stacks and secret smops made",
        "Show, then delete, what smops made for the project: each endpoint's automatic scaling\n"
        "(deregistered first), the endpoints, the endpoint configs and models smops tagged for\n"
        "them, the rollback alarms --create-alarms made, the data captured for the endpoints,\n"
        "the two stacks setup-aws deployed and the approval bridge's secret (recoverable for 7\n"
        "days). The endpoints, group, region and stacks come from the starters in --dir unless\n"
        "given. Asks before deleting on a terminal; elsewhere needs --yes. The model registry\n"
        "(the record of what was approved and served) is kept unless --delete-registry.",
        exits={0: "deleted, or nothing left to delete (or --dry-run)", 1: "a deletion failed (what is left is listed)",
               3: "timed out waiting for an endpoint or a stack to go"},
    )
    p.flag("--dir", default=".", help="the repository whose starters name the endpoints, group and region (default: the current directory)")
    p.flag("--endpoint-name", action="append", metavar="ENDPOINT",
           help="endpoint to tear down, repeatable (default: the starters' staging and production endpoints)")
    p.flag("--model-package-group", help="the group --delete-registry deletes (default: the starters' group)")
    p.flag("--oidc-stack", default="smops-github-oidc", help="stack of infra/github-oidc.yaml (default smops-github-oidc)")
    p.flag("--bridge-stack", default="smops-approval-bridge", help="stack of infra/approval-bridge.yaml (default smops-approval-bridge)")
    p.flag("--delete-registry", action="store_true", help="also delete the group's model packages and the group")
    p.flag("--yes", action="store_true", help="delete without asking (needed where there is no terminal)")
    flags.dry_run_flag(p, "show what would be deleted and delete nothing")
    p.flag("--timeout", type=flags.positive_minutes, default=30.0, metavar="MINUTES",
           help="how long to wait for each endpoint and stack to be deleted (default 30)")
    flags.aws_flags(p)
