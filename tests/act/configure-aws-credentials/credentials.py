"""configure-aws-credentials stand-in: OIDC → AssumeRoleWithWebIdentity, or keys → AssumeRole."""

import json
import os
import sys
import urllib.parse
import urllib.request

import boto3

env = os.environ
region = env["INPUT_AWS_REGION"]
role = env["INPUT_ROLE_TO_ASSUME"]
key_id, secret = env["INPUT_AWS_ACCESS_KEY_ID"], env["INPUT_AWS_SECRET_ACCESS_KEY"]
duration = int(env["INPUT_ROLE_DURATION_SECONDS"] or 3600)
session_name = env["INPUT_ROLE_SESSION_NAME"] or "GitHubActions"


def mask(value: str) -> None:
    print(f"::add-mask::{value}", flush=True)


def export(name: str, value: str, file: str = "GITHUB_ENV") -> None:
    with open(env[file], "a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")


def id_token(audience: str) -> str:
    """What @actions/core's getIDToken does: GET the request URL with the request token."""
    url = f"{env['ACTIONS_ID_TOKEN_REQUEST_URL']}&audience={urllib.parse.quote(audience)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        token = json.load(answer)["value"]
    mask(token)
    return token


export("AWS_REGION", region)
export("AWS_DEFAULT_REGION", region)
sts_args = {"region_name": region}
web_identity = role and not key_id and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
if key_id:
    if not secret:
        sys.exit("::error::'aws-secret-access-key' must be provided if 'aws-access-key-id' is provided")
    for value in (key_id, secret):
        mask(value)
    sts_args.update(aws_access_key_id=key_id, aws_secret_access_key=secret)
sts = boto3.client("sts", **sts_args)
if not role:  # the keys given, or those already in the environment
    found = boto3.Session(**{k: v for k, v in sts_args.items() if k != "region_name"}).get_credentials()
    if found is None:
        sys.exit("::error::Credentials could not be loaded, please check your action inputs")
    credentials = {"AccessKeyId": found.access_key, "SecretAccessKey": found.secret_key, "SessionToken": found.token}
elif web_identity:
    credentials = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName=session_name, DurationSeconds=duration,
        WebIdentityToken=id_token(env["INPUT_AUDIENCE"]),
    )["Credentials"]
else:
    credentials = sts.assume_role(RoleArn=role, RoleSessionName=session_name, DurationSeconds=duration)["Credentials"]
for name in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
    if credentials.get(name):
        mask(credentials[name])
export("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
export("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
if credentials.get("SessionToken"):
    export("AWS_SESSION_TOKEN", credentials["SessionToken"])
identity = boto3.client(
    "sts", region_name=region, aws_access_key_id=credentials["AccessKeyId"],
    aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials.get("SessionToken"),
).get_caller_identity()
export("aws-account-id", identity["Account"], "GITHUB_OUTPUT")
print(f"Authenticated as {identity['Arn']}")
