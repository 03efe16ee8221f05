"""`smops dispatch`: the approval bridge, by hand."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "dispatch",
        "smops.bridge.relay:run_dispatch",
        "send the model_approved repository_dispatch (the approval bridge, by hand)",
        "Run the approval bridge on a saved 'SageMaker Model Package State Change' event\n"
        "(--event), exactly as the Lambda would, or re-send the dispatch for an Approved model\n"
        "package (--model-package-arn). Outputs action (dispatched, duplicate or ignored),\n"
        "model-package-arn, repository, event-type and event-id, or reason when nothing was sent.\n\n"
        "The repository is --repository when given, else the group's entry in\n"
        "SMOPS_REPOSITORY_MAP (JSON), else the group's smops:github-repository tag.",
        exits={
            0: "dispatched or nothing to do",
            1: "GitHub refused or failed",
            2: "bad input (nothing was sent)",
        },
    )
    p.flag("--event", metavar="FILE", help="saved 'SageMaker Model Package State Change' event (JSON)")
    p.flag("--model-package-arn", help="re-send the dispatch for this Approved model package")
    p.flag("--repository", metavar="OWNER/REPO", help="repository to dispatch to, for every group")
    p.flag("--event-type", default="model_approved", help="repository_dispatch event type (default model_approved)")
    p.flag("--github-api-url", help="GitHub API URL (default GITHUB_API_URL or https://api.github.com)")
    p.flag(
        "--github-secret-arn",
        help="Secrets Manager secret with a token or a GitHub App's key (default: GITHUB_TOKEN)",
    )
    flags.aws_flags(p)
