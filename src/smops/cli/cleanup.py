"""`smops cleanup`: delete old endpoint configs and models."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "cleanup",
        "smops.deploy.cleanup:run",
        "delete old endpoint configs and models smops created for an endpoint",
        "Delete the endpoint configs (and their models) that smops created for the endpoint,\n"
        "except the one it serves, the one `smops rollback` would return to, and the --keep\n"
        "newest. Says which deleted configs were in the rollback history. Never touches\n"
        "untagged resources, a config an update in progress deploys, or what was made in the\n"
        "last --min-age minutes (a deploy in flight may be about to use it).",
        exits={
            0: "deleted, or nothing to delete",
            1: "AWS refused a delete (what was deleted before it is listed)",
        },
    )
    p.flag("--endpoint-name", required=True, help="endpoint whose old configs to delete")
    p.flag("--keep", type=int, default=2, help="newest configs to keep besides the current one and the rollback target (default 2)")
    p.flag("--min-age", type=float, default=10, help="keep configs and models made in the last N minutes, which a deploy in flight may be about to use (default 10)")
    p.flag("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    flags.aws_flags(p)
