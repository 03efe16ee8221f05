"""Checks on GitHub, with PyGithub and GITHUB_TOKEN: the repository, its environments, the
production gate, and the toolkit release the starters call."""

from __future__ import annotations

import fnmatch
import functools

from smops.onboard import starters
from smops.onboard.doctor import Check, Context, Problem, Skip, unreachable
from smops.onboard.doctor.starter_checks import placeholder


def checks(ctx: Context) -> list[Check]:
    return [
        ("repository", repository),
        ("environments", environments),
        ("production reviewers", production_reviewers),
        ("production branches", production_branches),
        ("toolkit release", toolkit_release),
    ]


def _repo(ctx: Context):
    """The repository, once; Problem when it cannot be seen."""
    if not ctx.repository:
        raise Problem("the repository is unknown", "pass --repository OWNER/REPO (or add a git remote origin on GitHub)")
    return _fetch_repo(ctx.github, ctx.repository)


@functools.lru_cache(maxsize=None)
def _fetch_repo(github, name: str):
    import requests
    from github import GithubException

    try:
        repo = github.get_repo(name)
        repo.permissions  # noqa: B018 - the GET happens here
        return repo
    except requests.RequestException as exc:
        raise Skip(unreachable(github.requester.base_url, exc)) from None
    except GithubException as exc:
        if exc.status == 404:
            raise Problem(f"{name} was not found on GitHub, or the token cannot see it",
                          "check --repository, and that GITHUB_TOKEN may read it (a private repository needs the token's repo scope or access)") from None
        raise


def _environment(ctx: Context, which: str):
    from github import GithubException

    name = ctx.environments[which]
    try:
        environment = _repo(ctx).get_environment(name)
        environment.protection_rules  # noqa: B018 - the GET happens here
        return environment
    except Problem:
        raise Skip("the repository cannot be read (see the repository check)") from None
    except GithubException as exc:
        if exc.status == 404:
            raise Skip(f"environment {name} does not exist (see the environments check)") from None
        raise


def repository(ctx: Context) -> str:
    repo = _repo(ctx)
    return f"{repo.full_name} ({'private' if repo.private else 'public'}, default branch {repo.default_branch})"


def environments(ctx: Context) -> str:
    try:
        existing = {e.name for e in _repo(ctx).get_environments()}
    except Problem:
        raise Skip("the repository cannot be read (see the repository check)") from None
    missing = [name for name in ctx.environments.values() if name not in existing]
    if missing:
        raise Problem(f"environment{'s' if len(missing) > 1 else ''} {' and '.join(missing)} missing in {ctx.repository}",
                      f"create {' and '.join(missing)} in the repository's Settings → Environments (the deploy jobs run in them)")
    return f"{' and '.join(ctx.environments.values())} exist"


def production_reviewers(ctx: Context) -> str:
    environment = _environment(ctx, "production")
    reviewers = [reviewer for rule in environment.protection_rules if rule.type == "required_reviewers" for reviewer in rule.reviewers]
    if not reviewers:
        raise Problem(f"environment {environment.name} has no required reviewers: nothing stops a deploy to production",
                      f"add required reviewers in Settings → Environments → {environment.name} (they are the gate before production)")
    names = [getattr(r.reviewer, "login", None) or getattr(r.reviewer, "slug", None) or r.type for r in reviewers]
    return f"{environment.name} waits for {', '.join(names)}"


def production_branches(ctx: Context) -> str:
    """A deployment branch rule exists, and admits the main branch (dispatches run there)."""
    environment = _environment(ctx, "production")
    policy = environment.deployment_branch_policy
    main = ctx.args.main_branch
    fix = f"in Settings → Environments → {environment.name}, limit deployment branches to {main} (Selected branches: {main})"
    if policy is None:
        raise Problem(f"any branch may deploy to {environment.name}", fix)
    repo = _repo(ctx)
    if policy.protected_branches:
        if not repo.get_branch(main).protected:
            raise Problem(f"{environment.name} admits protected branches only, and {main} is not protected: deploys would be refused",
                          f"protect {main} (Settings → Branches), or {fix}")
        return f"{environment.name} admits protected branches, {main} among them"
    # PyGithub has no call for these yet: its requester does the GET, with auth and retries.
    _, names = ctx.github.requester.requestJsonAndCheck("GET", f"/repos/{repo.full_name}/environments/{environment.name}/deployment-branch-policies")
    patterns = [p["name"] for p in names["branch_policies"] if p.get("type", "branch") == "branch"]
    if not any(fnmatch.fnmatchcase(main, pattern) for pattern in patterns):
        raise Problem(f"{environment.name} admits the branches {', '.join(patterns) or 'none'}, not {main}: deploys would be refused", fix)
    return f"{environment.name} admits {', '.join(patterns)}"


def toolkit_release(ctx: Context) -> str:
    from github import GithubException

    toolkit, ref = ctx.answers.toolkit_repository, ctx.answers.toolkit_ref
    if placeholder(ctx.root):
        raise Skip(f"because of the starters check: the starters call the placeholder {starters.TOOLKIT_REPOSITORY}")
    try:
        sha = ctx.github.get_repo(toolkit).get_commit(ref).sha
    except GithubException as exc:
        if exc.status in (404, 422):
            what = f"{toolkit} has no ref {ref}" if exc.status == 422 else f"{toolkit} was not found on GitHub"
            raise Problem(f"the starters call {toolkit}@{ref}, but {what}",
                          "point the starters at a release that exists: smops init --toolkit-repository OWNER/sagemaker-mlops --toolkit-ref vX --force") from None
        raise
    return f"{toolkit}@{ref} exists ({sha[:7]})"
