"""`smops rollback`: an endpoint back to a config it served before."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "rollback",
        "smops.deploy.rollback:run",
        "put an endpoint back on the config it served before (or an earlier one)",
        "Update the endpoint back to the config it served before the current one, from the\n"
        "history smops keeps in the endpoint's tags (smops:served:N), or to the newest config of\n"
        "the history that served model package version --to-version, or to --to-config. The\n"
        "update takes the same guarded path as deploy: the strategy, rollback alarms, autoscaling\n"
        "kept with the live instance count, the wait, and the outcome read back. Refused (exit 2,\n"
        "nothing changed) when the target config or its model no longer exists.",
        exits={
            0: "rolled back or already there (also when another deployment replaced it after: a "
               "warning names it)",
            1: "the update failed or SageMaker rolled it back",
            2: "bad input, or another deployment in progress without --wait-if-busy (nothing changed)",
            3: "timed out waiting",
        },
    )
    p.flag("--endpoint-name", required=True, help="endpoint to roll back")
    p.flag(
        "--to-version",
        type=int,
        metavar="N",
        help="go back to the newest config of the history that served model package version N",
    )
    p.flag("--to-config", metavar="NAME", help="go back to this endpoint config")
    p.flag("--environment", help="label such as production, for the summary")
    flags.rollout_flags(p)
    flags.wait_flags(p, "the endpoint")
    flags.dry_run_flag(p, "show the plan of the rollback and change nothing; exit 2 when it would be refused")
    flags.aws_flags(p)
