"""`smops status`: lineage and audit trail of endpoints and model packages."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "status",
        "smops.status:run",
        "trace what each endpoint serves to its commit, data, metrics and approver",
        "For endpoints and/or a model package group: the package version each endpoint serves,\n"
        "when and by which workflow run and commit it was deployed (smops' tags), the pipeline\n"
        "execution that built it (parameters, input data), its metrics, who registered and who\n"
        "approved or rejected it, when and why, and what waits for approval. Prints text, or\n"
        "Markdown with --markdown; --json prints the outputs (endpoints, model-packages,\n"
        "pending-approval) as one JSON object instead. The Markdown also goes to the job summary.",
        exits={0: "reported", 1: "AWS refused a read the report needs"},
    )
    p.flag(
        "--model-package-group",
        help="report on this group: its newest packages, what waits for approval, and (without "
        "--endpoint-name) every endpoint serving one of its packages",
    )
    p.flag(
        "--endpoint-name",
        action="append",
        metavar="ENDPOINT",
        help="report on this endpoint and the package it serves; repeatable, one per line in the variable",
    )
    p.flag("--limit", type=int, default=5, help="newest packages of the group to show (default 5)")
    p.flag("--markdown", action="store_true", help="print Markdown instead of text")
    flags.aws_flags(p, help_text="print the outputs as one JSON object on stdout instead of the report")
