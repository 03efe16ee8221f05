"""`smops doctor`: check everything the lifecycle needs before the first run needs it.

Each check is a small function of a Context that returns what it found to be right, or raises
Problem (what is wrong and the exact fix) or Skip (why it could not be checked here: a missing
prerequisite another check reports, or credentials that may not look). The checks live with
what they look at: starter_checks (the files), github_checks (PyGithub), aws_checks (boto3).
A report goes to stderr, to the job summary (Markdown) and, with --json, to stdout; any Problem
makes the command exit 1.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import botocore.exceptions

from smops import aws, gha
from smops.errors import BadInput, RemoteFailure
from smops.onboard import starters

ICONS = {"ok": "✓", "fail": "✗", "skip": "-"}
SUMMARY_ICONS = {"ok": "✅", "fail": "❌", "skip": "➖"}


class Problem(Exception):
    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message, self.fix = message, fix


class Skip(Exception):
    pass


@dataclass
class Result:
    check: str
    status: str  # ok, fail or skip
    message: str
    fix: str = ""


Check = tuple[str, Callable[["Context"], str]]


class Context:
    """What the checks share, each fetched once and only when a check asks."""

    def __init__(self, args):
        self.args = args
        self.root = Path(args.dir)
        self.answers, self.starter_problems = starters.read(self.root)
        self.repository = args.repository or starters.github_repository(self.root)
        self.region = args.region or self.answers.region or None
        self.environments = {"staging": args.staging_environment, "production": args.production_environment}
        self.oidc_role = ""  # the build role taken with the job's OIDC token, in Actions

    def client(self, service: str):
        if not self.region:
            raise Skip("no AWS region (see the AWS credentials check)")
        return aws.client(service, self.region, self.args.profile)

    def take_build_role_in_actions(self) -> str:
        """In a job that may ask for an OIDC token and has no AWS credentials (the build starter's
        doctor job), have botocore assume the starter's build role with the job's token, as
        configure-aws-credentials would: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN. Returns the
        role taken, or "" when nothing was done."""
        import tempfile

        import requests

        url, token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL"), os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        credentials = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
        if not (url and token and self.answers.build_role_arn) or self.args.profile or any(os.environ.get(n) for n in credentials):
            return ""
        answer = requests.get(url, params={"audience": "sts.amazonaws.com"}, headers={"Authorization": f"bearer {token}"}, timeout=10)
        answer.raise_for_status()
        jwt = answer.json()["value"]
        gha.mask(jwt)
        path = Path(tempfile.mkdtemp(prefix="smops-doctor-")) / "github-oidc-token"
        path.write_text(jwt, encoding="utf-8")
        path.chmod(0o600)
        os.environ.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(path), AWS_ROLE_ARN=self.answers.build_role_arn, AWS_ROLE_SESSION_NAME="smops-doctor")
        return self.answers.build_role_arn

    @functools.cached_property
    def caller(self) -> dict:
        return self.client("sts").get_caller_identity()

    @property
    def account(self) -> str:
        return self.caller["Account"]

    def stack(self, name: str) -> dict:
        """The stack's outputs and parameters by key; Skip when it does not exist."""
        found = self.stacks.get(name)
        if found is None:
            raise Skip(f"stack {name} does not exist in {self.region} (see the stacks check)")
        return found

    @functools.cached_property
    def stacks(self) -> dict[str, dict | None]:
        """Both stacks' outputs and parameters by key (None for a stack that does not exist)."""
        stacks = {}
        for name in (self.args.oidc_stack, self.args.bridge_stack):
            try:
                [stack] = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
            except botocore.exceptions.ClientError as exc:
                if "does not exist" not in aws.error_message(exc):
                    raise
                stacks[name] = None
                continue
            stacks[name] = {
                "status": stack["StackStatus"],
                **{o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []},
                **{p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []},
            }
        return stacks

    @functools.cached_property
    def github(self):
        from github import Auth, Github, GithubRetry

        token = os.environ.get("GITHUB_TOKEN", "").strip()
        if not token:  # anonymous, a private repository reads as missing: not checked, rather than wrong
            raise Skip("no GITHUB_TOKEN to read GitHub with: export GITHUB_TOKEN=$(gh auth token), then run smops doctor again")
        gha.mask(token)
        return Github(auth=Auth.Token(token), base_url=self.github_api_url, timeout=10,
                      retry=GithubRetry(total=2), seconds_between_requests=0, seconds_between_writes=0)

    @property
    def github_api_url(self) -> str:
        return self.args.github_api_url or os.environ.get("GITHUB_API_URL") or "https://api.github.com"


def run(args) -> dict[str, object]:
    from smops.onboard.doctor import aws_checks, github_checks, starter_checks

    if not Path(args.dir).is_dir():
        raise BadInput(f"--dir {args.dir} is not a directory", "run smops doctor in your repository, or pass --dir PATH")
    ctx = Context(args)
    gha.log(f"smops doctor: {ctx.repository or 'repository unknown'} in {ctx.region or 'no region'}")
    ctx.oidc_role = ctx.take_build_role_in_actions()
    results = [run_check(title, check, ctx) for module in (starter_checks, github_checks, aws_checks) for title, check in module.checks(ctx)]
    gha.add_summary(markdown(results, ctx))
    failed = [r for r in results if r.status == "fail"]
    outputs = {
        "status": "failed" if failed else "ok",
        "passed": sum(r.status == "ok" for r in results),
        "failed": len(failed),
        "skipped": sum(r.status == "skip" for r in results),
        "checks": [asdict(r) for r in results],
    }
    if failed:
        raise RemoteFailure(f"{len(failed)} of {len(results)} checks failed ({', '.join(r.check for r in failed)})",
                            "fix each as its line above says, then run smops doctor again", outputs=outputs)
    gha.log(f"all {outputs['passed']} checks passed" + (f", {outputs['skipped']} not checked" if outputs["skipped"] else ""))
    return outputs


def run_check(title: str, check: Callable[[Context], str], ctx: Context) -> Result:
    """One check's result; whatever it raises becomes a fail or a skip with the reason."""
    import requests
    from github import GithubException

    try:
        result = Result(title, "ok", check(ctx))
    except Problem as problem:
        result = Result(title, "fail", problem.message, problem.fix)
    except Skip as skip:
        result = Result(title, "skip", f"not checked: {skip}")
    except botocore.exceptions.NoCredentialsError:
        result = Result(title, "skip", "not checked: no AWS credentials (see the AWS credentials check)")
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) in {"AccessDenied", "AccessDeniedException", "AuthorizationError"}:
            result = Result(title, "skip", f"not checked: AWS denied {exc.operation_name} to these credentials; "
                            "run smops doctor with credentials that may read IAM, CloudFormation and the bridge")
        else:
            result = Result(title, "fail", f"AWS refused {exc.operation_name}: {aws.error_message(exc)}",
                            "check the region and the credentials")
    except BadInput as exc:
        result = Result(title, "fail", exc.problem, exc.fix)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        result = Result(title, "fail", f"GitHub answered {exc.status} ({message})",
                        "check GITHUB_TOKEN (it must see the repository) and --github-api-url")
    except requests.RequestException as exc:
        result = Result(title, "skip", f"not checked: {unreachable(ctx.github_api_url, exc)}")
    _log(result)
    return result


def unreachable(url: str, exc: Exception) -> str:
    """GitHub out of reach (offline, a wrong --github-api-url): nothing it holds can be checked."""
    return f"could not reach GitHub at {url} ({type(exc).__name__}); check the network and --github-api-url (GITHUB_API_URL)"


def _log(result: Result) -> None:
    gha.log(f"  {ICONS[result.status]} {result.check:<28} {result.message}")
    if result.status == "fail":
        gha.log(f"    {'':<28} fix: {result.fix}")
        if gha.in_actions():
            gha.error(f"{result.message}: {result.fix}", title=f"smops doctor: {result.check}")


def markdown(results: list[Result], ctx: Context) -> str:
    rows = [[SUMMARY_ICONS[r.status], r.check, r.message, r.fix] for r in results]
    failed = sum(r.status == "fail" for r in results)
    headline = f"{failed} of {len(results)} checks failed" if failed else f"all {len(results) - sum(r.status == 'skip' for r in results)} checks passed"
    return f"### smops doctor: {headline}\n\n{ctx.repository} in {ctx.region}\n\n" + gha.table(["", "check", "found", "fix"], rows)
