"""`smops setup-aws`: deploy (or update) the OIDC roles and the approval bridge from the starters.

The parameters of infra/github-oidc.yaml and infra/approval-bridge.yaml come from the answers in
the starters `smops init` wrote, so the stacks and the workflows cannot disagree; the roles the
stacks make (build, deploy, monitor, and the pipeline's and model's when the starters name none)
are written back into the starters. Each stack goes through a CloudFormation change
set, as `aws cloudformation deploy` does: created, executed and waited for with its events as
progress, or, with --dry-run, described and deleted. CloudFormation itself expands the templates'
Fn::ForEach (the AWS::LanguageExtensions transform).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import botocore.exceptions

from smops import aws, gha
from smops.errors import BadInput, RemoteFailure
from smops.onboard import starters
from smops.waiting import wait_for

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
OIDC_PROVIDER = "token.actions.githubusercontent.com"
ENVIRONMENT = re.compile(r"^[A-Za-z0-9]+$")
ENDPOINT_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Stack states that end a wait; a *ROLLBACK* or *FAILED* one is a failure.
TERMINAL = re.compile(r"(_COMPLETE|_FAILED)$")
FAILED = re.compile(r"ROLLBACK|FAILED")


@dataclass
class Stack:
    name: str
    template: str  # file name under infra/
    parameters: dict[str, str]


def run(args) -> dict[str, str]:
    root = Path(args.dir)
    answers, problems = starters.read(root)
    if problems:
        raise BadInput("; ".join(problems), "run smops init first: setup-aws deploys what the starters say")
    repository = args.repository or starters.github_repository(root)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", repository or ""):
        raise BadInput(f"the repository {repository or '(unknown)'} is not OWNER/REPO", "pass --repository OWNER/REPO")
    check(args, answers)
    region = args.region or answers.region
    account = aws.client("sts", region, args.profile).get_caller_identity()["Account"]
    gha.log(f"smops setup-aws: {repository} in account {account}, {region}{' (dry run: nothing changes)' if args.dry_run else ''}")
    clients = {service: aws.client(service, region, args.profile) for service in ("cloudformation", "iam", "s3", "sagemaker")}
    if not args.dry_run:
        ensure_model_package_group(clients["sagemaker"], answers.model_package_group)
    code_key = upload_bridge_code(clients["s3"], args, answers.default_bucket, region)
    previous = deployed(clients["cloudformation"], args.oidc_stack)
    stacks = [
        Stack(args.oidc_stack, "github-oidc.yaml", {
            "Repository": repository,
            "MainBranch": args.main_branch,
            "Environments": f"{args.staging_environment},{args.production_environment}",
            "CreateOidcProvider": create_oidc_provider(clients, previous, account),
            "PipelineName": answers.pipeline_name,
            "PipelineExecutionRoleArn": given_role(previous, answers.pipeline_role_arn, "PipelineExecutionRoleArn", "PipelineRoleArn"),
            "ArtifactBucket": answers.default_bucket,
            "ModelPackageGroup": answers.model_package_group,
            "EndpointNamePrefix": endpoint_prefix(args, answers),
            "ModelExecutionRoleArn": given_role(previous, answers.model_role_arn, "ModelExecutionRoleArn", "ModelRoleArn"),
            "MonitoredEndpoint": answers.production_endpoint_name,
            "ModelMonitorReads": str(args.model_monitor_reads).lower(),
        }),
        Stack(args.bridge_stack, "approval-bridge.yaml", {
            "ModelPackageGroups": answers.model_package_group,
            "GitHubRepository": repository,
            "CodeS3Bucket": answers.default_bucket,
            "CodeS3Key": code_key,
            **({"GitHubApiUrl": args.github_api_url} if args.github_api_url else {}),
        }),
    ]
    cloudformation = clients["cloudformation"]
    actions = {stack.name: deploy(cloudformation, stack, args, region) for stack in stacks}
    outputs = {"oidc-stack-action": actions[args.oidc_stack], "bridge-stack-action": actions[args.bridge_stack]}
    if args.dry_run:
        return outputs
    oidc, bridge = (stack_outputs(cloudformation, stack.name) for stack in stacks)
    roles = {
        "build-role-arn": oidc["BuildRoleArn"],
        "staging-role-arn": oidc[f"DeployRole{args.staging_environment}Arn"],
        "production-role-arn": oidc[f"DeployRole{args.production_environment}Arn"],
        "monitor-role-arn": oidc["MonitorRoleArn"],
        "pipeline-role-arn": oidc["PipelineRoleArn"],
        "model-role-arn": oidc["ModelRoleArn"],
    }
    write_roles(root, roles)
    outputs.update(roles, **{"bridge-function-arn": bridge["FunctionArn"], "bridge-secret-arn": bridge["SecretArn"]})
    gha.add_summary(summary(stacks, actions, outputs))
    gha.log(f"\nNext: put a GitHub token that may dispatch to {repository} (or a GitHub App's JSON) in the bridge's secret:\n"
            f"  aws secretsmanager put-secret-value --secret-id {bridge['SecretArn']} --secret-string file://token.txt\n"
            "then run smops doctor.")
    return outputs


def check(args, answers: starters.Answers) -> None:
    """What CloudFormation would refuse after minutes, refused now."""
    missing = [field for field in ("pipeline_name", "model_package_group", "region",
                                   "default_bucket", "staging_endpoint_name", "production_endpoint_name")
               if field not in starters.known(answers)]
    if missing:
        raise BadInput(f"the starters do not say {', '.join(missing)}", "run smops init first")
    for name in (args.staging_environment, args.production_environment):
        if not ENVIRONMENT.match(name):
            raise BadInput(f"environment {name!r} has characters other than letters and digits",
                           "infra/github-oidc.yaml names each deploy role's output after its environment: rename it")
    for field in ("pipeline_name", "model_package_group"):
        if not starters.LOWER_CASE_NAME.match(getattr(answers, field)):
            raise BadInput(f"{field.replace('_', '-')} {getattr(answers, field)!r} is not in lower case",
                           "IAM compares ARNs case-sensitively and SageMaker writes names in lower case: rename it (smops init --force)")


def endpoint_prefix(args, answers: starters.Answers) -> str:
    """What the staging and production endpoint names share: the deploy roles manage only that."""
    prefix = args.endpoint_name_prefix or os.path.commonprefix([answers.staging_endpoint_name, answers.production_endpoint_name])
    if not ENDPOINT_PREFIX.match(prefix):
        raise BadInput(f"the endpoint names {answers.staging_endpoint_name} and {answers.production_endpoint_name} share no usable prefix",
                       "pass --endpoint-name-prefix (lower case), or name both endpoints alike (churn-staging, churn-production)")
    return prefix


def ensure_model_package_group(sagemaker, group: str) -> None:
    """The bridge's rule and the deploy roles name the group: it exists before the first build."""
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except botocore.exceptions.ClientError as exc:
        if not aws.is_not_found(exc):
            raise
        sagemaker.create_model_package_group(ModelPackageGroupName=group, Tags=aws.provenance_tags(),
                                             ModelPackageGroupDescription="Models of the smops build, approved for deploys")
        gha.log(f"created model package group {group}")


def deployed(cloudformation, stack_name: str) -> dict[str, str]:
    """The parameters and outputs of the stack as deployed; empty when it is not (yet)."""
    try:
        [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" not in aws.error_message(exc):
            raise
        return {}
    if stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        return {}
    return {**{p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []},
            **{o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}}


def given_role(previous: dict[str, str], arn: str, parameter: str, output: str) -> str:
    """The role ARN to pass as `parameter`: the starter's, but empty when it is the role the
    stack created itself (so that an update keeps creating it rather than deleting it)."""
    if arn and previous.get(parameter) == "" and previous.get(output) == arn:
        return ""
    return arn


def create_oidc_provider(clients: dict, previous: dict[str, str], account: str) -> str:
    """'true' unless the account has GitHub's provider already from elsewhere (there is one per account)."""
    if previous.get("CreateOidcProvider") == "true":
        return "true"  # the stack made it: keep it
    arn = f"arn:aws:iam::{account}:oidc-provider/{OIDC_PROVIDER}"
    existing = [p["Arn"] for p in clients["iam"].list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    if arn in existing:
        gha.log(f"using the account's {OIDC_PROVIDER} provider (CreateOidcProvider=false)")
        return "false"
    return "true"


def upload_bridge_code(s3, args, bucket: str, region: str) -> str:
    """The bridge's zip, built (or given with --bridge-zip) and put in the artifact bucket under a
    key of its hash, so the same code leaves the function unchanged. --dry-run uploads nothing."""
    from smops.bridge import package

    with tempfile.TemporaryDirectory(prefix="smops-setup-") as scratch:
        zip_path = Path(args.bridge_zip) if args.bridge_zip else Path(scratch) / "bridge.zip"
        if not args.bridge_zip:
            with gha.group("Build the approval bridge's code (smops bridge package)"):
                dependencies = Path(scratch) / "dependencies"
                package.install_dependencies(dependencies, "3.12")
                package.build_zip(zip_path, dependencies)
        if not zip_path.is_file():
            raise BadInput(f"--bridge-zip {zip_path} does not exist", "build it with smops bridge package --out PATH")
        body = zip_path.read_bytes()
    key = f"smops-bridge/{hashlib.sha256(body).hexdigest()[:16]}.zip"
    if args.dry_run:
        return key
    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **location)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": aws.provenance_tags(purpose="smops artifacts")})
        gha.log(f"created bucket {bucket}")
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    gha.log(f"uploaded the bridge's code to s3://{bucket}/{key}")
    return key


def deploy(cloudformation, stack: Stack, args, region: str) -> str:
    """Create a change set for the stack; show it; execute it and wait, or delete it (--dry-run).
    Returns created, updated or unchanged (with --dry-run: create, update or unchanged)."""
    existing = _status(cloudformation, stack.name)
    kind = "UPDATE" if existing and existing != "REVIEW_IN_PROGRESS" else "CREATE"
    if existing and FAILED.search(existing) and existing.startswith(("ROLLBACK", "CREATE")):
        raise BadInput(f"stack {stack.name} is {existing}: a failed creation cannot be updated",
                       f"delete it (aws cloudformation delete-stack --stack-name {stack.name}) and run smops setup-aws again")
    name = f"smops-{int(time.time())}"
    template = resources.files("smops").joinpath("infra", stack.template).read_text(encoding="utf-8")
    cloudformation.create_change_set(
        StackName=stack.name, ChangeSetName=name, ChangeSetType=kind, TemplateBody=template, Capabilities=CAPABILITIES,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in stack.parameters.items()],
        Tags=aws.provenance_tags(), Description=f"smops setup-aws from {args.dir}",
    )
    change_set = wait_for(
        lambda: cloudformation.describe_change_set(StackName=stack.name, ChangeSetName=name),
        lambda c: c["Status"] in {"CREATE_COMPLETE", "FAILED"},
        timeout_seconds=args.timeout * 60, what=f"change set {name} of {stack.name}", status=lambda c: c["Status"],
    )
    unchanged = change_set["Status"] == "FAILED" and re.search(r"didn't contain changes|No updates are to be performed", change_set.get("StatusReason", ""))
    if change_set["Status"] == "FAILED" and not unchanged:
        _discard(cloudformation, stack.name, name, kind)
        raise RemoteFailure(f"CloudFormation could not plan {stack.name}: {change_set.get('StatusReason')}",
                            "fix what it names (a parameter, a missing capability), then run smops setup-aws again")
    with gha.group(f"{stack.name}: {'no changes' if unchanged else kind.lower() + ' with these changes'}"):
        for change in change_set.get("Changes", []) if not unchanged else []:
            resource = change["ResourceChange"]
            replace = " (replaced)" if resource.get("Replacement") == "True" else ""
            gha.log(f"  {resource['Action']:<7} {resource['LogicalResourceId']} ({resource['ResourceType']}){replace}")
    if unchanged or args.dry_run:
        _discard(cloudformation, stack.name, name, kind)
        return "unchanged" if unchanged else kind.lower()
    before = _event_ids(cloudformation, stack.name)
    cloudformation.execute_change_set(StackName=stack.name, ChangeSetName=name)
    final = wait_for(_progress(cloudformation, stack.name, before), lambda s: bool(TERMINAL.search(s) and "IN_PROGRESS" not in s),
                     timeout_seconds=args.timeout * 60, what=f"stack {stack.name}", status=lambda s: s)
    if FAILED.search(final):
        raise RemoteFailure(f"stack {stack.name} ended {final}: {_failure_reasons(cloudformation, stack.name, before)}",
                            f"see its events: {_console(region, stack.name)}")
    gha.log(f"{stack.name}: {final}")
    return "created" if kind == "CREATE" else "updated"


def _status(cloudformation, name: str) -> str | None:
    try:
        return cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in aws.error_message(exc):
            return None
        raise


def _discard(cloudformation, stack_name: str, change_set: str, kind: str) -> None:
    """Delete the change set, and the empty stack a CREATE change set leaves in REVIEW_IN_PROGRESS."""
    cloudformation.delete_change_set(StackName=stack_name, ChangeSetName=change_set)
    if kind == "CREATE" and _status(cloudformation, stack_name) == "REVIEW_IN_PROGRESS":
        cloudformation.delete_stack(StackName=stack_name)


def _event_ids(cloudformation, stack_name: str) -> set[str]:
    """The stack's events so far (newest first, the first page is enough: older ones are older)."""
    return {e["EventId"] for e in cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]}


def _progress(cloudformation, stack_name: str, seen: set[str]):
    """A fetch for wait_for that prints each new stack event once and returns the stack's status."""
    seen = set(seen)

    def fetch() -> str:
        for event in reversed(cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]):
            if event["EventId"] not in seen:
                seen.add(event["EventId"])
                reason = f": {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
                gha.log(f"  {event['ResourceStatus']:<20} {event['LogicalResourceId']}{reason}")
        return _status(cloudformation, stack_name) or "DELETE_COMPLETE"

    return fetch


def _failure_reasons(cloudformation, stack_name: str, before: set[str]) -> str:
    events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    reasons = [f"{e['LogicalResourceId']}: {e['ResourceStatusReason']}" for e in events
               if e["EventId"] not in before and e["ResourceStatus"].endswith("FAILED") and e.get("ResourceStatusReason")]
    return "; ".join(reversed(reasons)) or "no reason given"


def _console(region: str, stack_name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudformation/home?region={region}#/stacks?filteringText={stack_name}"


def stack_outputs(cloudformation, name: str) -> dict[str, str]:
    [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def write_roles(root: Path, roles: dict[str, str]) -> None:
    """Each role into the starters whose jobs assume or pass it (those of the loop that exist)."""
    for starter, values in (("build", {"role-to-assume": roles["build-role-arn"], "pipeline-role-arn": roles["pipeline-role-arn"]}),
                            ("deploy", {"staging-role-to-assume": roles["staging-role-arn"],
                                        "production-role-to-assume": roles["production-role-arn"],
                                        "model-role-arn": roles["model-role-arn"]}),
                            ("monitor", {"role-to-assume": roles["monitor-role-arn"]}),
                            ("rollback", {"role-to-assume": roles["production-role-arn"]})):
        path = starters.starter_path(root, starter)
        if starter in starters.OPTIONAL_STARTERS and not path.exists():
            continue
        if starters.write_inputs(path, starter, values):
            gha.log(f"wrote {', '.join(values)} into {path}")


def summary(stacks: list[Stack], actions: dict[str, str], outputs: dict[str, str]) -> str:
    rows = [[stack.name, f"infra/{stack.template}", actions[stack.name]] for stack in stacks]
    roles = [[name, value] for name, value in outputs.items() if name.endswith("-arn")]
    return ("### smops setup-aws\n\n" + gha.table(["stack", "template", "action"], rows) + "\n\n"
            + gha.table(["output", "value"], roles))
