"""`smops approve`: approve or reject a model package."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "approve",
        "smops.registry:run_approve",
        "approve or reject a model package",
        "Set a model package's approval status. With --model-package-group, acts on the newest\n"
        "PendingManualApproval package. Already in that status: says so and changes nothing.",
        exits={0: "set, or already in that status", 1: "AWS refused the update"},
    )
    flags.model_package_flags(p, "act on the newest PendingManualApproval package of this group")
    p.flag("--status", choices=["Approved", "Rejected"], default="Approved", help="new status (default Approved)")
    p.flag("--description", help="approval description, e.g. who approved and why")
    flags.aws_flags(p)
