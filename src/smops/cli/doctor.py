"""`smops doctor`: check the setup before the first run needs it."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "doctor",
        "smops.onboard.doctor:run",
        "check the starters, GitHub and AWS for what the lifecycle needs",
        "Check, and say for each check ok or what is wrong and the exact fix:\n"
        "  the starters: filled in, names in lower case, toolkit ref in step, files they name;\n"
        "  GitHub (GITHUB_TOKEN): the repository, the staging and production environments,\n"
        "    production's required reviewers and deployment branch rule, the toolkit release;\n"
        "  AWS: the OIDC provider, each role's trust (exact subject) and permissions (IAM's\n"
        "    policy simulator), the pipeline and model roles, the model package group, the\n"
        "    stacks against the starters, the bridge's rule, dead-letter queue, secret, and\n"
        "    whether its token may create repository_dispatch events.\n"
        "What cannot be checked with the credentials at hand is listed as not checked. Outputs\n"
        "status (ok or failed), passed, failed, skipped and checks (JSON).",
        exits={0: "every check passed", 1: "a check failed"},
    )
    flags.onboarding_flags(p)
    p.flag("--github-api-url", help="GitHub API URL (default GITHUB_API_URL or https://api.github.com)")
    flags.aws_flags(p)
