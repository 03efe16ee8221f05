"""Send a repository_dispatch with PyGithub; credentials from Secrets Manager or GITHUB_TOKEN.

Credentials read from a secret are cached per (API URL, secret) for the life of the process: a warm
Lambda reads the secret once, and a GitHub App's installation token is reused until PyGithub renews
it. A 401 forgets them, so the retry reads the secret again (after a rotation, say).

Retries (urllib3's Retry, through PyGithub's GithubRetry, which also waits out rate limits) cover
only what cannot have reached GitHub twice: a connection that could not be opened, and a 5xx answer.
A request that was sent but got no answer (a read timeout, a connection dropped mid-request) is not
repeated: GitHub may have accepted it, and a second dispatch starts a second deploy. That failure is
raised as NoAnswer, so the caller can record that a dispatch may have gone out. What is left after
the retries is raised as a RemoteFailure naming the likely cause.
"""

from __future__ import annotations

import json
import logging
import os

from smops import aws, gha
from smops.errors import BadInput, RemoteFailure

DEFAULT_API_URL = "https://api.github.com"
RETRIES = 3  # after the first attempt, for connection failures and 5xx; backoff 0 s, 1 s, 2 s
BACKOFF_FACTOR = 0.5
TIMEOUT_SECONDS = 10
RATE_LIMIT_WAIT_SECONDS = 20  # stay well inside the Lambda's timeout
APP_FIELDS = ("app_id", "private_key", "installation_id")
# GetSecretValue errors that mean the secret is not there to read (deleted, wrong name or region,
# no value yet); retrying cannot help.
SECRET_UNUSABLE = {"ResourceNotFoundException", "InvalidRequestException", "InvalidParameterException"}
# botocore prints response bodies at DEBUG, GetSecretValue's too; held at INFO so that a DEBUG
# log level (AWS_LAMBDA_LOG_LEVEL, say) cannot put the secret in the logs.
QUIET_LOGGER = "botocore.parsers"

_clients: dict[tuple[str, str], object] = {}


class NoAnswer(RemoteFailure):
    """The request went out and no answer came back: GitHub may or may not have acted on it."""


def forget_credentials() -> None:
    _clients.clear()


def parse_secret(text: str):
    """A token string, JSON {"token": ...}, or JSON with a GitHub App's app_id, private_key and
    installation_id, as a PyGithub Auth."""
    from github import Auth

    text = text.strip()
    if not text:
        raise BadInput("the GitHub secret is empty", "store a token, or a GitHub App's " + _app_hint())
    if not text.startswith("{"):
        gha.mask(text)
        return Auth.Token(text)
    try:
        data = json.loads(text, strict=False)  # strict=False: a PEM pasted with raw newlines
    except ValueError:
        raise BadInput("the GitHub secret looks like JSON but does not parse", _app_hint()) from None
    if isinstance(data, dict) and data.get("token"):
        gha.mask(data["token"])
        return Auth.Token(str(data["token"]))
    missing = [name for name in APP_FIELDS if not (isinstance(data, dict) and data.get(name))]
    if missing:
        raise BadInput(f"the GitHub secret has no {', '.join(missing)}", _app_hint())
    try:
        installation_id = int(data["installation_id"])
    except (TypeError, ValueError):
        raise BadInput("the GitHub secret's installation_id is not a number", _app_hint()) from None
    return Auth.AppAuth(str(data["app_id"]), data["private_key"]).get_installation_auth(installation_id)


def _app_hint() -> str:
    return 'JSON {"app_id": ..., "private_key": "-----BEGIN ...", "installation_id": ...}'


def _read_secret(secret_id: str, region: str | None, profile: str | None) -> str:
    # A secret ARN names its region; a bare name uses the caller's.
    parts = secret_id.split(":")
    if len(parts) > 3 and parts[0] == "arn":
        region = parts[3]
    import botocore.exceptions

    secrets = aws.client("secretsmanager", region, profile)
    try:
        secret = secrets.get_secret_value(SecretId=secret_id)
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) not in SECRET_UNUSABLE:
            raise
        raise BadInput(
            f"the GitHub secret {secret_id} cannot be read: {aws.error_message(exc)}",
            "create it (infra/approval-bridge.yaml does) and store the token in it, or point "
            "SMOPS_GITHUB_SECRET_ARN (--github-secret-arn) at the right secret and region",
        ) from None
    if "SecretString" not in secret:
        raise BadInput(
            f"the GitHub secret {secret_id} holds binary data, not text",
            "store the token or the GitHub App's JSON as the secret's string value (SecretString)",
        )
    return secret["SecretString"]


def client(api_url: str, secret_id: str | None, region: str | None = None, profile: str | None = None):
    """A PyGithub client with retries, authenticated from the secret, else from GITHUB_TOKEN."""
    from github import Auth, Github, GithubRetry

    logger = logging.getLogger(QUIET_LOGGER)
    if logger.getEffectiveLevel() < logging.INFO:
        logger.setLevel(logging.INFO)
    key = (api_url, secret_id or "")
    if secret_id and key in _clients:
        return _clients[key]
    if secret_id:
        auth = parse_secret(_read_secret(secret_id, region, profile))
    elif os.environ.get("GITHUB_TOKEN", "").strip():
        token = os.environ["GITHUB_TOKEN"].strip()
        gha.mask(token)
        auth = Auth.Token(token)
    else:
        raise BadInput(
            "no GitHub credentials",
            "pass --github-secret-arn (or SMOPS_GITHUB_SECRET_ARN) or set GITHUB_TOKEN",
        )
    retry = GithubRetry(
        total=RETRIES,
        read=False,  # sent but unanswered: never repeated (this client only POSTs)
        backoff_factor=BACKOFF_FACTOR,
        raise_on_status=False,  # the last answer comes back, with GitHub's message
        secondary_rate_wait=RATE_LIMIT_WAIT_SECONDS,
    )
    github = Github(
        auth=auth,
        base_url=api_url,
        timeout=TIMEOUT_SECONDS,
        retry=retry,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    if secret_id:
        _clients[key] = github
    return github


def send(github, repository: str, event_type: str, payload: dict) -> None:
    """POST /repos/{owner}/{repo}/dispatches; raises RemoteFailure when GitHub refuses it, NoAnswer
    when it may have accepted it without saying so."""
    from github import Auth

    auth = github.requester.auth
    if isinstance(auth, Auth.AppInstallationAuth):
        # Exchange the App's key for an installation token (or renew it) first, so that a failure
        # names this step and is never mistaken for a dispatch that may have gone out.
        target = f"installation {auth.installation_id}"
        gha.mask(_call(lambda: auth.token, github, target, installation=True))
    # Not Repository.create_repository_dispatch: it returns False for 401, 404, 422 and 5xx alike,
    # and the status is what tells a bad token from a wrong repository name.
    try:
        _call(
            lambda: github.requester.requestJsonAndCheck(
                "POST",
                f"/repos/{repository}/dispatches",
                input={"event_type": event_type, "client_payload": payload},
            ),
            github,
            repository,
        )
    finally:
        # A warm Lambda's next dispatch opens a fresh connection: one left idle in the pool may have
        # been dropped on the way (a NAT gateway's idle timeout), and a request written into it fails
        # as one that GitHub may have received.
        github.close()


def _call(request, github, target: str, *, installation: bool = False):
    """Run a GitHub request; turn what is left after retries into a RemoteFailure with a cause
    (NoAnswer when the request went out and no answer came back)."""
    import requests
    from github import GithubException

    try:
        return request()
    except GithubException as exc:
        status = exc.status
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        if status == 401:
            forget_credentials()
        problem = f"GitHub answered {status}{f' ({message})' if message else ''} for {target}"
        raise RemoteFailure(problem, _cause(status, target, installation)) from None
    except requests.RequestException as exc:
        if _was_sent(exc):
            problem = f"GitHub did not answer the request for {target} ({type(exc).__name__})"
            if installation:
                raise RemoteFailure(problem, "try again: asking for a token is safe to repeat") from None
            raise NoAnswer(problem, "GitHub may have acted on it: check before sending it again") from None
        raise RemoteFailure(
            f"could not reach GitHub at {github.requester.base_url} after {RETRIES + 1} attempts "
            f"({type(exc).__name__})",
            "check GITHUB_API_URL and the network path from here (a Lambda in a VPC needs a NAT "
            "gateway to reach github.com)",
        ) from None


def _was_sent(exc) -> bool:
    """A read timeout, or the connection dropped after the request started (urllib3's ProtocolError,
    which requests wraps in a ConnectionError); not a connection that never opened."""
    import requests
    from urllib3.exceptions import ProtocolError

    if isinstance(exc, requests.ReadTimeout):
        return True
    return isinstance(exc, requests.ConnectionError) and bool(exc.args) and isinstance(exc.args[0], ProtocolError)


def _cause(status: int, target: str, installation: bool) -> str:
    if installation:
        return {
            401: "the GitHub App's app_id or private_key is wrong (or the key was revoked)",
            404: f"{target} does not exist: check installation_id and that the App is installed "
            "on the repository's owner",
        }.get(status, "check the GitHub App's settings and GitHub's status page")
    return {
        401: "the token is wrong, expired or revoked: store a valid one in the secret (or GITHUB_TOKEN)",
        403: f"the credentials may not dispatch to {target}: a fine-grained token or GitHub App "
        "needs Contents: write on it, a classic token the repo scope",
        404: f"{target} was not found: check the owner/repo name, and that the token can see it "
        "or the GitHub App is installed on it",
        422: "GitHub rejected the payload: event_type must be at most 100 characters and "
        "client_payload at most 10 top-level keys",
    }.get(status, "GitHub failed after retries: check https://www.githubstatus.com and try again")
