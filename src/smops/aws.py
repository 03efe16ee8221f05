"""The one place that makes boto3 clients, and the provenance tags every resource gets.

Endpoint overrides (the emulator, LocalStack, a VPC endpoint) come from boto3's own
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables, so there is no flag for them here.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import unicodedata

import boto3
import botocore
import botocore.config
import botocore.exceptions
import botocore.loaders

from smops import __version__, gha
from smops.errors import BadInput

ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-/]+$")
DENIED = re.compile(
    r"User: (?P<principal>\S+) is not authorized to perform: (?P<action>[\w-]+:\w+)(?: on resource: (?P<resource>\S+))?"
)
ASSUMED_ROLE = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/(?P<role>[^/]+)/")
# SageMaker tag keys and values allow letters, digits, spaces and _.:/=+-@ only.
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
TAG_PUNCTUATION = set("_.:/=+-@")
RETRIES = 10
# What a call can raise: AWS's answer was an error, or no answer came.
ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


@functools.lru_cache(maxsize=None)
def session(region: str | None = None, profile: str | None = None) -> boto3.Session:
    # boto3 reads AWS_DEFAULT_REGION; AWS_REGION is what Actions and Lambda set.
    region = region or os.environ.get("AWS_REGION") or None
    try:
        sess = boto3.Session(region_name=region, profile_name=profile or None)
    except botocore.exceptions.ProfileNotFound as exc:
        raise BadInput(str(exc), "pass an existing --profile or unset AWS_PROFILE") from exc
    if not sess.region_name:
        raise BadInput(
            "no AWS region configured",
            "pass --region (or the action's region input) or set AWS_REGION",
        )
    check_region(sess.region_name)
    return sess


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every AWS partition, from botocore's own endpoint data."""
    partitions = botocore.loaders.create_loader().load_data("endpoints")["partitions"]
    return frozenset(region for partition in partitions for region in partition["regions"])


def check_region(region: str) -> None:
    """Refuse a misspelled region up front: AWS would answer it only with a connection error
    (no such endpoint) after every retry."""
    if region in known_regions():
        return
    close = difflib.get_close_matches(region, sorted(known_regions()), n=1)
    raise BadInput(
        f"region {region!r} is not an AWS region" + (f" (did you mean {close[0]}?)" if close else ""),
        f"pass --region {close[0] if close else 'REGION'} or fix AWS_REGION or the profile's region "
        f"(a region newer than botocore {botocore.__version__} needs a newer boto3)",
    )


@functools.lru_cache(maxsize=None)
def client(service: str, region: str | None = None, profile: str | None = None):
    """A client with adaptive retries and a user agent that names smops.

    Ten retries, unless botocore's own AWS_MAX_ATTEMPTS (attempts in all) says otherwise.
    """
    retries = {"mode": "adaptive"}
    if not os.environ.get("AWS_MAX_ATTEMPTS"):
        retries["max_attempts"] = RETRIES
    config = botocore.config.Config(
        retries=retries,
        user_agent_extra=f"smops/{__version__}",
    )
    return session(region, profile).client(service, config=config)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/some/key → ("bucket", "some/key"), as written: a caller that takes the URI from a
    user checks it first (capture.split_uri)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def region_of(region: str | None = None, profile: str | None = None) -> str:
    return session(region, profile).region_name


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def error_message(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Message", str(exc))


def describe_error(exc: Exception, target: str) -> str:
    """`AWS refused Operation for TARGET: Code: message` (for a denial, what was denied to whom),
    or why no answer came."""
    if isinstance(exc, botocore.exceptions.ClientError):
        denied = access_denied(exc)
        detail = denied[0] if denied else f"{error_code(exc)}: {error_message(exc)}"
        return f"AWS refused {exc.operation_name} for {target}: {detail}"
    return f"calling AWS for {target} failed: {exc}"


def access_denied(exc: botocore.exceptions.ClientError) -> tuple[str, str] | None:
    """For an AccessDenied in AWS's words ("User: ARN is not authorized to perform: ACTION on
    resource: ARN ..."): what was denied to which role, and what to grant it. None otherwise."""
    if error_code(exc) not in {"AccessDenied", "AccessDeniedException"}:
        return None
    match = DENIED.search(error_message(exc))
    if not match:
        return None
    role = ASSUMED_ROLE.match(match["principal"])
    who = f"role {role['role']}" if role else match["principal"]
    what = match["action"] + (f" on {match['resource']}" if match["resource"] else "")
    return f"{who} may not {what}", "allow it in that role's policy (infra/README.md shows what each role needs)"


def is_not_found(exc: botocore.exceptions.ClientError) -> bool:
    """SageMaker reports a missing resource as a ValidationException naming it."""
    code = error_code(exc)
    message = error_message(exc).lower()
    return code in {"ResourceNotFound", "ResourceNotFoundException"} or (
        code in {"ValidationException", "ValidationError"}
        and ("not found" in message or "could not find" in message or "does not exist" in message)
    )


def found(call, **request):
    """A Describe call's answer; None when the resource does not exist."""
    try:
        return call(**request)
    except botocore.exceptions.ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def check_role_arn(value: str, what: str) -> None:
    if not ROLE_ARN.match(value):
        raise BadInput(f"--role-arn {value!r} is not an IAM role ARN", f"pass arn:aws:iam::ACCOUNT:role/NAME, {what}")


def check_tags(pairs: list[tuple[str, str]]) -> None:
    """--tag KEY=VALUE pairs AWS would refuse (after creating what came before them)."""
    for key, value in pairs:
        if not 1 <= len(key) <= TAG_KEY_MAX or not _tag_text(key) or key.lower().startswith("aws:"):
            raise BadInput(
                f"tag key {key!r} is not allowed",
                f"use 1-{TAG_KEY_MAX} letters, digits, spaces and _.:/=+-@; the prefix aws: is reserved",
            )
        if len(value) > TAG_VALUE_MAX or not _tag_text(value):
            raise BadInput(
                f"tag {key}={value!r} has a value AWS refuses",
                f"use up to {TAG_VALUE_MAX} letters, digits, spaces and _.:/=+-@",
            )


def _tag_text(text: str) -> bool:
    r"""SageMaker's tag pattern, ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$."""
    return all(unicodedata.category(c)[0] in "LZN" or c in TAG_PUNCTUATION for c in text)


def tags(client, arn: str) -> dict[str, str]:
    """A SageMaker resource's tags; one page holds them all (at most 50, MaxResults is 50+)."""
    return {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=arn, MaxResults=100)["Tags"]}


def provenance_tags(**known: str | None) -> list[dict[str, str]]:
    """The smops:* tags from the Actions run plus what the caller knows (environment, ARN)."""
    values = {
        "smops:git-sha": os.environ.get("GITHUB_SHA"),
        "smops:run-url": gha.run_url(),
    }
    values.update({f"smops:{key.replace('_', '-')}": value for key, value in known.items()})
    return [
        {"Key": key, "Value": str(value)[:TAG_VALUE_MAX]}
        for key, value in values.items()
        if value
    ]


def console_url(region: str, fragment: str) -> str:
    """A deep link into the SageMaker console."""
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{fragment}"
