"""Checks in AWS, with boto3: the OIDC provider, each role of the starters (exists, trusts exactly
its GitHub subject, may do what smops will call: IAM's SimulatePrincipalPolicy), the roles the jobs
pass, the model package group, the stacks against the starters, the approval bridge, and the loop
(the monitor starter's role; once production exists, its data capture and its package's baseline,
both readable by the monitor role)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote

import botocore.exceptions

from smops import aws
from smops.onboard import starters
from smops.onboard.doctor import Check, Context, Problem, Skip
from smops.onboard.doctor.starter_checks import name_trouble

OIDC_HOST = "token.actions.githubusercontent.com"
SUBJECT, AUDIENCE = f"{OIDC_HOST}:sub", f"{OIDC_HOST}:aud"
TOKEN_PREFIXES = ("ghp_", "github_pat_", "gho_", "ghu_", "ghs_")


@dataclass
class Need:
    """Actions smops calls on one resource (a sample ARN of the kind it names)."""

    resource: str
    actions: list[str]
    passed_to: str = ""  # iam:PassRole's iam:PassedToService
    prefix: str | None = None  # s3:ListBucket's s3:prefix

    def context(self) -> list[dict]:
        keys = {"iam:PassedToService": self.passed_to, "s3:prefix": self.prefix}
        return [{"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
                for key, value in keys.items() if value is not None and (value or key == "s3:prefix")]


def checks(ctx: Context) -> list[Check]:
    roles = [("build", "build_role_arn"), ("staging", "staging_role_arn"), ("production", "production_role_arn"),
             ("monitor", "monitor_role_arn")]
    return [
        ("AWS credentials", credentials),
        ("OIDC provider", oidc_provider),
        *[(f"{name} role trust", _bound(role_trust, name, field)) for name, field in roles],
        *[(f"{name} role permissions", _bound(role_permissions, name, field)) for name, field in roles],
        ("pipeline and model roles", service_roles),
        ("model package group", model_package_group),
        ("stacks match the starters", stacks_match),
        ("monitor starter", monitor_starter),
        ("production data capture", production_capture),
        ("production baseline", production_baseline),
        ("bridge rule", bridge_rule),
        ("bridge dead-letter queue", dead_letter_queue),
        ("bridge secret", bridge_secret),
        ("bridge token may dispatch", bridge_token),
    ]


def _bound(check, name: str, field: str):
    return lambda ctx: check(ctx, name, field)


def credentials(ctx: Context) -> str:
    if not ctx.region:
        raise Problem("no AWS region: the starters name none", "pass --region, or run smops init")
    try:
        account = ctx.account
    except botocore.exceptions.NoCredentialsError:
        raise Problem("no AWS credentials", "set AWS_PROFILE (or run aws sso login); in Actions give the job "
                      "permissions id-token: write, so that doctor takes the build role") from None
    except (botocore.exceptions.ClientError, botocore.exceptions.CredentialRetrievalError) as exc:
        if not ctx.oidc_role:
            raise
        subject = f"repo:{os.environ.get('GITHUB_REPOSITORY')}:ref:{os.environ.get('GITHUB_REF')}"
        raise Problem(f"this run's OIDC token ({subject}) may not assume the build role {ctx.oidc_role}: {exc}",
                      f"run the doctor job from {ctx.args.main_branch}, or fix the build role's trust (rerun smops setup-aws)") from None
    in_starters = {arn.split(":")[4] for arn in (ctx.answers.pipeline_role_arn, ctx.answers.build_role_arn) if arn.count(":") >= 5}
    if in_starters - {account}:
        raise Problem(f"these credentials are for account {account}, the starters' roles are in {', '.join(sorted(in_starters))}",
                      "use credentials of the account the starters deploy to")
    return f"account {account}, region {ctx.region}, as {ctx.caller['Arn']}"


def oidc_provider(ctx: Context) -> str:
    iam = ctx.client("iam")
    arn = f"arn:aws:iam::{ctx.account}:oidc-provider/{OIDC_HOST}"
    try:
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) != "NoSuchEntity":
            raise
        raise Problem(f"this account has no OIDC provider for {OIDC_HOST}",
                      "run smops setup-aws (infra/github-oidc.yaml creates it with CreateOidcProvider=true)") from None
    if "sts.amazonaws.com" not in provider.get("ClientIDList", []):
        raise Problem(f"the OIDC provider's audiences are {provider.get('ClientIDList')}, without sts.amazonaws.com",
                      f"add the audience sts.amazonaws.com to {arn}")
    return f"{arn} (audience sts.amazonaws.com)"


def expected_subject(ctx: Context, name: str) -> str:
    """The main branch's runs for build and monitor (a push; a schedule or a manual run, in a job
    with no environment), the environment's jobs for a deploy role."""
    if name in ("build", "monitor"):
        return f"repo:{ctx.repository}:ref:refs/heads/{ctx.args.main_branch}"
    return f"repo:{ctx.repository}:environment:{ctx.environments[name]}"


def _role(ctx: Context, arn: str, what: str) -> dict:
    if not arn:
        raise Skip(f"no {what} in the starters (see the starters check)")
    try:
        return ctx.client("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) != "NoSuchEntity":
            raise
        raise Problem(f"the {what} {arn} does not exist", "run smops setup-aws, or fix the ARN in the starter") from None


def _document(document) -> dict:
    """A policy document as boto3 gives it: parsed already, or URL-encoded JSON."""
    import json

    return json.loads(unquote(document)) if isinstance(document, str) else document


def _statements(document) -> list[dict]:
    statements = _document(document).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _values(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def role_trust(ctx: Context, name: str, field: str) -> str:
    """Trusts GitHub's OIDC provider for exactly repo:OWNER/REPO:ref:refs/heads/main (build,
    monitor) or repo:OWNER/REPO:environment:NAME (deploy), and for the audience sts.amazonaws.com."""
    if not ctx.repository:
        raise Skip("the repository is unknown (see the repository check)")
    _monitor_starter_present(ctx, name)
    role = _role(ctx, getattr(ctx.answers, field), f"{name} role")
    expected = expected_subject(ctx, name)
    fix = f"make the role's trust policy allow sts:AssumeRoleWithWebIdentity only for {SUBJECT} StringEquals {expected} " \
          f"(infra/github-oidc.yaml does: rerun smops setup-aws for {ctx.repository})"
    github = [s for s in _statements(role["AssumeRolePolicyDocument"]) if s.get("Effect") == "Allow"
              and "sts:AssumeRoleWithWebIdentity" in _values(s.get("Action", []))
              and any(str(p).endswith(f"oidc-provider/{OIDC_HOST}") for p in _values((s.get("Principal") or {}).get("Federated", [])))]
    if not github:
        raise Problem(f"{role['Arn']} does not trust GitHub's OIDC provider", fix)
    subjects, patterns, audiences = set(), set(), set()
    for statement in github:
        conditions = statement.get("Condition") or {}
        subjects.update(_values((conditions.get("StringEquals") or {}).get(SUBJECT, [])))
        patterns.update(_values((conditions.get("StringLike") or {}).get(SUBJECT, [])))
        audiences.update(_values((conditions.get("StringEquals") or {}).get(AUDIENCE, [])))
        if SUBJECT not in (conditions.get("StringEquals") or {}) and SUBJECT not in (conditions.get("StringLike") or {}):
            raise Problem(f"{role['Arn']} trusts any GitHub repository (no {SUBJECT} condition)", fix)
    if patterns:
        raise Problem(f"{role['Arn']} trusts the pattern {', '.join(sorted(patterns))}, not exactly {expected}", fix)
    if subjects != {expected}:
        found = ", ".join(sorted(subjects))
        raise Problem(f"{role['Arn']} trusts {found}, {'not only' if expected in subjects else 'not'} {expected}", fix)
    if audiences != {"sts.amazonaws.com"}:
        raise Problem(f"{role['Arn']} accepts the audiences {', '.join(sorted(audiences)) or 'any'}, not only sts.amazonaws.com", fix)
    return f"{role['RoleName']} trusts exactly {expected}"


def needs(ctx: Context, name: str) -> list[Need]:
    """What smops calls as each role (infra/README.md's table, from a run under IAM enforcement):
    build (pipeline, its executions, the package it registered and gates, the baseline production
    serves) or deploy (packages, models, endpoint configs, the endpoint and its rollback history,
    alarms, autoscaling, the model role, and the lineage `smops status` reports)."""
    a, sm = ctx.answers, f"arn:aws:sagemaker:{ctx.region}:{ctx.account}"
    pipeline = f"{sm}:pipeline/{a.pipeline_name}"
    package = Need(f"{sm}:model-package/{a.model_package_group}/1", ["sagemaker:DescribeModelPackage", "sagemaker:ListTags"])
    if name == "build":
        baseline = f"{a.production_endpoint_name}-v1-smops-doctor"
        return [
            Need(pipeline, ["sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", "sagemaker:DescribePipeline",
                            "sagemaker:StartPipelineExecution", "sagemaker:AddTags"]),
            Need(f"{pipeline}/execution/smopsdoctor", ["sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineExecutionSteps",
                                                       "sagemaker:StopPipelineExecution",
                                                       "sagemaker:DescribePipelineDefinitionForExecution"]),
            Need(package.resource, ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage", "sagemaker:AddTags"]),
            Need("*", ["sagemaker:ListModelPackages"]),
            Need(f"{sm}:endpoint/{a.production_endpoint_name}", ["sagemaker:DescribeEndpoint"]),
            Need(f"{sm}:endpoint-config/{baseline}", ["sagemaker:DescribeEndpointConfig"]),
            Need(f"{sm}:model/{baseline}", ["sagemaker:DescribeModel"]),
            Need(a.pipeline_role_arn, ["iam:PassRole"], "sagemaker.amazonaws.com"),
        ]
    if name == "monitor":
        return monitor_needs(ctx)
    endpoint = getattr(a, f"{name}_endpoint_name")
    named = f"{endpoint}-v1-smops-doctor"  # smops names models and configs <endpoint>-v<version>-<time>
    tagging = ["sagemaker:AddTags", "sagemaker:ListTags"]
    serving = ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"]  # authorized on the endpoint and its config
    scaling = ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
               "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy"]
    return [
        package,
        Need(f"{sm}:model-package-group/{a.model_package_group}", ["sagemaker:DescribeModelPackageGroup"]),
        Need(f"{pipeline}/execution/smopsdoctor", ["sagemaker:DescribePipelineExecution",
                                                   "sagemaker:ListPipelineParametersForExecution"]),
        Need("*", ["sagemaker:ListModelPackages", "sagemaker:ListEndpointConfigs", "sagemaker:ListModels",
                   "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies"]),
        Need(f"{sm}:model/{named}", ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel", *tagging]),
        Need(f"{sm}:endpoint-config/{named}", ["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig",
                                               "sagemaker:DeleteEndpointConfig", *serving, *tagging]),
        Need(f"{sm}:endpoint/{endpoint}", [*serving, "sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint", *tagging,
                                           "sagemaker:DeleteTags"]),
        Need(f"arn:aws:application-autoscaling:{ctx.region}:{ctx.account}:scalable-target/smopsdoctor", scaling),
        Need(f"arn:aws:cloudwatch:{ctx.region}:{ctx.account}:alarm:{endpoint}-AllTraffic-5xx-errors",
             ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:TagResource"]),
        Need(a.model_role_arn, ["iam:PassRole"], "sagemaker.amazonaws.com"),
    ]


def role_permissions(ctx: Context, name: str, field: str) -> str:
    """IAM's policy simulator, on the role's own policies, for every call smops makes as it."""
    _monitor_starter_present(ctx, name)
    # the build role reads production's baseline, the monitor watches production
    endpoint = "staging" if name == "staging" else "production"
    trouble = name_trouble(ctx.root, ("pipeline_name", "model_package_group", f"{endpoint}_endpoint_name"))
    if trouble:  # every ARN made of that name would be denied: one line elsewhere says why
        raise Skip(trouble)
    role = _role(ctx, getattr(ctx.answers, field), f"{name} role")
    count, denied = _simulate(ctx, role["Arn"], needs(ctx, name))
    if denied:
        raise Problem(f"{role['RoleName']} may not: {'; '.join(denied)}",
                      "grant those actions on those resources (infra/github-oidc.yaml's policies do: rerun smops setup-aws)")
    return f"{role['RoleName']} may make all {count} calls smops makes as the {name} role"


def _simulate(ctx: Context, role_arn: str, wanted: list[Need]) -> tuple[int, list[str]]:
    """How many calls were simulated for the role, and those IAM would deny."""
    iam, denied, count = ctx.client("iam"), [], 0
    for need in (n for n in wanted if n.resource):  # a role the starters do not name yet: the starters check says so
        pages = iam.get_paginator("simulate_principal_policy").paginate(
            PolicySourceArn=role_arn, ActionNames=need.actions, ResourceArns=[need.resource], ContextEntries=need.context())
        for result in (r for page in pages for r in page["EvaluationResults"]):
            count += 1
            if result["EvalDecision"] != "allowed":
                denied.append(f"{result['EvalActionName']} on {need.resource} ({result['EvalDecision']})")
    return count, denied


def monitor_needs(ctx: Context, capture: str = "") -> list[Need]:
    """What `smops drift` calls as the monitor role (infra/README.md's table): the production
    endpoint, its config and model, the package it serves, its capture (listed and read, under
    `capture`, by default the deploy starter's), and the violations file the monitor starter names."""
    a, sm = ctx.answers, f"arn:aws:sagemaker:{ctx.region}:{ctx.account}"
    endpoint, named = a.production_endpoint_name, f"{a.production_endpoint_name}-v1-smops-doctor"
    bucket, prefix = aws.split_s3_uri(capture or a.production_capture_uri or f"s3://{a.default_bucket}/{starters.CAPTURE_PREFIX}/{endpoint}")
    folder = f"{prefix.rstrip('/')}/{endpoint}/"  # SageMaker writes under DESTINATION/ENDPOINT/VARIANT/yyyy/mm/dd/hh/
    found = [
        Need(f"{sm}:endpoint/{endpoint}", ["sagemaker:DescribeEndpoint"]),
        Need(f"{sm}:endpoint-config/{named}", ["sagemaker:DescribeEndpointConfig"]),
        Need(f"{sm}:model/{named}", ["sagemaker:DescribeModel"]),
        Need(f"{sm}:model-package/{a.model_package_group}/1", ["sagemaker:DescribeModelPackage"]),
        Need(f"arn:aws:s3:::{bucket}", ["s3:ListBucket"], prefix=folder),
        Need(f"arn:aws:s3:::{bucket}/{folder}AllTraffic/2026/01/01/00/capture.jsonl", ["s3:GetObject"]),
    ]
    if a.violations_file.startswith("s3://"):
        bucket, key = aws.split_s3_uri(a.violations_file.replace("${{ github.run_id }}", "1"))
        found.append(Need(f"arn:aws:s3:::{bucket}/{key}", ["s3:PutObject"]))
    return found


def _monitor_starter_present(ctx: Context, name: str) -> None:
    if name == "monitor" and not starters.starter_path(ctx.root, "monitor").exists():
        raise Skip("no monitor starter (see the monitor starter check)")


def monitor_starter(ctx: Context) -> str:
    """The loop's scheduled check exists, watches production, and assumes the stack's monitor role."""
    path = starters.starter_path(ctx.root, "monitor")
    if not path.exists():
        raise Problem(f"{path} does not exist: nothing checks production's traffic for drift",
                      "run smops init (it adds the missing starters and keeps the others), then smops setup-aws")
    a = ctx.answers
    oidc = ctx.stack(ctx.args.oidc_stack)
    wrong = [f"{what} is {ours or 'empty'}, {where} {theirs}" for what, ours, where, theirs in (
        ("role-to-assume", a.monitor_role_arn, "the stack's monitor role is", oidc.get("MonitorRoleArn") or "missing (an older stack)"),
        ("endpoint-name", a.production_endpoint_name, "the stack monitors", oidc.get("MonitoredEndpoint") or "every endpoint of its prefix"),
    ) if ours != theirs and theirs != "every endpoint of its prefix"]
    if wrong:
        raise Problem(f"monitor.yml's {'; '.join(wrong)}", "run smops setup-aws (it deploys the monitor role and writes it into monitor.yml)")
    return f"monitor.yml checks {a.production_endpoint_name} as {a.monitor_role_arn.rsplit('/', 1)[-1]}"


def _production(ctx: Context) -> dict:
    """Production's endpoint as described; Skip until the first deploy made it."""
    from smops import endpoint as endpoints

    name = ctx.answers.production_endpoint_name
    if not name:
        raise Skip("no production endpoint in the starters (see the starters check)")
    described = endpoints.describe(ctx.client("sagemaker"), name)
    if described is None:
        raise Skip(f"{name} does not exist yet: checked after the first deploy to production")
    return described


def production_capture(ctx: Context) -> str:
    """Production captures its traffic, somewhere the monitor role may list and read."""
    described = _production(ctx)
    name = described["EndpointName"]
    config = described.get("DataCaptureConfig") or {}
    if not config.get("EnableCapture") or not config.get("DestinationS3Uri"):
        raise Problem(f"{name} does not capture its traffic: the monitor has nothing to check",
                      "deploy with the deploy starter's production-data-capture-uri (smops init writes it), "
                      "e.g. smops deploy --data-capture-uri s3://BUCKET/smops-capture/" + name)
    destination = config["DestinationS3Uri"]
    percent = f" {config['CurrentSamplingPercentage']}%" if "CurrentSamplingPercentage" in config else ""
    if not ctx.answers.monitor_role_arn:
        raise Skip(f"{name} captures{percent} to {destination}; no monitor role in the starters to check it may read it "
                   "(see the monitor starter check)")
    role = _role(ctx, ctx.answers.monitor_role_arn, "monitor role")
    reads = [n for n in monitor_needs(ctx, destination) if n.actions[0] in ("s3:ListBucket", "s3:GetObject")]
    _, denied = _simulate(ctx, role["Arn"], reads)
    if denied:
        raise Problem(f"the monitor role {role['RoleName']} may not read {name}'s capture at {destination}: {'; '.join(denied)}",
                      f"capture under s3://ARTIFACT-BUCKET/{starters.CAPTURE_PREFIX}/{name} (the deploy starter's "
                      "production-data-capture-uri), or rerun smops setup-aws for this endpoint")
    return f"{name} captures{percent} to {destination}, readable by {role['RoleName']}"


def production_baseline(ctx: Context) -> str:
    """The package production serves has a data quality baseline `smops drift` finds with no flags,
    in a place the monitor role may read."""
    from smops import registry
    from smops import endpoint as endpoints
    from smops.monitor import baseline

    described = _production(ctx)
    sagemaker = ctx.client("sagemaker")
    arn = endpoints.config_package(sagemaker, described["EndpointConfigName"])
    if not arn:
        raise Skip(f"{described['EndpointName']} serves no model package smops can tell")
    found = baseline.from_package(registry.describe(sagemaker, arn))
    if not found:
        raise Problem(f"{arn} has no data quality baseline (DriftCheckBaselines, ModelMetrics or its {baseline.STATISTICS_KEY} metadata): "
                      "smops drift has nothing to compare with",
                      "build with the build starter (it records one), or write one with smops baseline and record it on the package")
    statistics = found[0]
    if ctx.answers.monitor_role_arn and statistics.startswith("s3://"):
        role = _role(ctx, ctx.answers.monitor_role_arn, "monitor role")
        bucket, key = aws.split_s3_uri(statistics)
        _, denied = _simulate(ctx, role["Arn"], [Need(f"arn:aws:s3:::{bucket}/{key}", ["s3:GetObject"])])
        if denied:
            raise Problem(f"the monitor role {role['RoleName']} may not read the baseline {statistics}",
                          f"write baselines under s3://ARTIFACT-BUCKET/smops-baseline/{ctx.answers.model_package_group}/ "
                          "(what the monitor role reads)")
    return f"{arn.rsplit('/', 2)[-2]} v{arn.rsplit('/', 1)[-1]} has its baseline at {statistics}"


def service_roles(ctx: Context) -> str:
    """The roles the pipeline and the model run as: they exist and SageMaker may assume them.
    (That the build and deploy roles may pass them is in their permissions check.)"""
    found = []
    for field, what in (("pipeline_role_arn", "pipeline role"), ("model_role_arn", "model role")):
        role = _role(ctx, getattr(ctx.answers, field), what)
        trusted = any(s.get("Effect") == "Allow" and "sagemaker.amazonaws.com" in _values((s.get("Principal") or {}).get("Service", []))
                      for s in _statements(role["AssumeRolePolicyDocument"]))
        if not trusted:
            raise Problem(f"the {what} {role['Arn']} does not trust sagemaker.amazonaws.com: SageMaker cannot run as it",
                          "allow the principal sagemaker.amazonaws.com to sts:AssumeRole in its trust policy")
        found.append(role["RoleName"])
    return f"{' and '.join(dict.fromkeys(found))} exist{'s' if len(set(found)) == 1 else ''} and SageMaker may assume them"


def model_package_group(ctx: Context) -> str:
    group = ctx.answers.model_package_group
    if not group:
        raise Skip("no model-package-group in the starters (see the starters check)")
    trouble = name_trouble(ctx.root, ("model_package_group",))
    if trouble:
        raise Skip(trouble)
    try:
        ctx.client("sagemaker").describe_model_package_group(ModelPackageGroupName=group)
    except botocore.exceptions.ClientError as exc:
        if not aws.is_not_found(exc):
            raise
        raise Problem(f"model package group {group} does not exist in {ctx.region}", "run smops setup-aws (it creates the group)") from None
    return f"{group} exists"


def stacks_match(ctx: Context) -> str:
    """Every value of the starters is what the stacks were deployed with."""
    a, stacks = ctx.answers, ctx.stacks
    missing = [name for name, stack in stacks.items() if stack is None]
    if missing:
        raise Problem(f"stack{'s' if len(missing) > 1 else ''} {' and '.join(missing)} not found in {ctx.region}", "run smops setup-aws")
    oidc, bridge = stacks[ctx.args.oidc_stack], stacks[ctx.args.bridge_stack]
    expected = [
        ("role-to-assume (build.yml)", a.build_role_arn, oidc.get("BuildRoleArn")),
        ("staging-role-to-assume (deploy.yml)", a.staging_role_arn, oidc.get(f"DeployRole{ctx.environments['staging']}Arn")),
        ("production-role-to-assume (deploy.yml)", a.production_role_arn, oidc.get(f"DeployRole{ctx.environments['production']}Arn")),
        ("pipeline-name", a.pipeline_name, oidc.get("PipelineName")),
        ("model-package-group", a.model_package_group, oidc.get("ModelPackageGroup")),
        # The roles the stack was given, or made when given none (setup-aws writes those back).
        ("pipeline-role-arn", a.pipeline_role_arn, oidc.get("PipelineRoleArn") or oidc.get("PipelineExecutionRoleArn")),
        ("model-role-arn", a.model_role_arn, oidc.get("ModelRoleArn") or oidc.get("ModelExecutionRoleArn")),
        ("the repository", ctx.repository.lower(), oidc.get("Repository", "").lower()),
        ("the bridge's repository", ctx.repository.lower(), bridge.get("GitHubRepository", "").lower()),
    ]
    wrong = [f"{what} is {ours or 'empty'}, the stack has {theirs}" for what, ours, theirs in expected if ours != theirs]
    if a.model_package_group not in bridge.get("ModelPackageGroups", "").split(","):
        wrong.append(f"the bridge does not bridge {a.model_package_group} (it has {bridge.get('ModelPackageGroups')})")
    prefix = oidc.get("EndpointNamePrefix", "")
    wrong += [f"endpoint {e} does not start with the roles' EndpointNamePrefix {prefix}"
              for e in (a.staging_endpoint_name, a.production_endpoint_name) if not e.startswith(prefix)]
    if wrong:
        raise Problem("; ".join(wrong), "run smops setup-aws to deploy the starters' values (or correct the starters)")
    return f"{ctx.args.oidc_stack} and {ctx.args.bridge_stack} were deployed with the starters' values"


def _bridge(ctx: Context) -> dict:
    return ctx.stack(ctx.args.bridge_stack)


def bridge_rule(ctx: Context) -> str:
    bridge = _bridge(ctx)
    name = bridge["RuleArn"].rsplit("/", 1)[-1]
    events = ctx.client("events")
    rule = events.describe_rule(Name=name)
    if rule.get("State") != "ENABLED":
        raise Problem(f"the approval rule {name} is {rule.get('State')}: approvals reach nobody", f"aws events enable-rule --name {name}")
    targets = [t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"]]
    if bridge["FunctionArn"] not in targets:
        raise Problem(f"the approval rule {name} targets {', '.join(targets) or 'nothing'}, not the bridge {bridge['FunctionArn']}",
                      "rerun smops setup-aws to restore the stack's target")
    return f"{name} is enabled and targets the bridge function"


def dead_letter_queue(ctx: Context) -> str:
    url = _bridge(ctx)["DeadLetterQueueUrl"]
    attributes = ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    waiting = int(attributes.get("ApproximateNumberOfMessages", 0))
    if waiting:
        raise Problem(f"{waiting} approval{'s' if waiting > 1 else ''} did not reach GitHub and wait{'' if waiting > 1 else 's'} in {url}",
                      "read them (aws sqs receive-message --queue-url URL), fix the cause, re-send each with smops dispatch --event FILE")
    return "empty: every approval so far reached GitHub"


def _secret_text(ctx: Context) -> str:
    arn = _bridge(ctx).get("SecretArn")
    try:
        return ctx.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) != "ResourceNotFoundException":
            raise
        raise Problem(f"the bridge's secret {arn} holds no value yet",
                      f"aws secretsmanager put-secret-value --secret-id {arn} --secret-string file://token.txt "
                      "(a token that may dispatch to the repository, or a GitHub App's JSON)") from None


def bridge_secret(ctx: Context) -> str:
    """A token, or a GitHub App's app_id, private_key and installation_id (never printed)."""
    from github import Auth

    from smops.bridge import dispatch

    text = _secret_text(ctx)
    auth = dispatch.parse_secret(text)  # BadInput names what is wrong with the shape
    if isinstance(auth, Auth.AppInstallationAuth):
        return f"a GitHub App key (app {auth.app_id}, installation {auth.installation_id})"
    token = auth.token
    if not (token.startswith(TOKEN_PREFIXES) or re.fullmatch(r"[0-9a-f]{40}", token)):
        raise Problem("the bridge's secret does not hold a GitHub token (no ghp_, github_pat_, gho_, ghu_ or ghs_ prefix)",
                      "store the token itself, or JSON {\"token\": ...}, or a GitHub App's JSON")
    kind = "a fine-grained token" if token.startswith("github_pat_") else "a classic token" if token.startswith("ghp_") else "a token"
    return f"{kind}"


def bridge_token(ctx: Context) -> str:
    """Whether the bridge's credentials may create repository_dispatch events on the repository,
    as far as GitHub tells: a classic token's scopes (X-OAuth-Scopes) and its user's push access,
    a GitHub App's installation on the repository and its Contents permission. A fine-grained
    token's permissions are shown to no API: only its access to the repository is checked."""
    from github import Auth, Github, GithubException, GithubIntegration

    from smops.bridge import dispatch
    from smops.errors import BadInput

    try:
        auth = dispatch.parse_secret(_secret_text(ctx))
    except (Problem, BadInput):
        raise Skip("the secret holds no usable credentials (see the bridge secret check)") from None
    github = Github(auth=auth, base_url=ctx.github_api_url, timeout=10, retry=0, seconds_between_requests=0, seconds_between_writes=0)
    owner, name = ctx.repository.split("/", 1)
    if isinstance(auth, Auth.AppInstallationAuth):
        try:
            installation = GithubIntegration(**auth.requester.kwargs).get_repo_installation(owner, name)
        except GithubException as exc:
            if exc.status != 404:
                raise
            raise Problem(f"GitHub App {auth.app_id} is not installed on {ctx.repository}",
                          f"install it on {ctx.repository} with Contents: read and write") from None
        if installation.id != auth.installation_id:
            raise Problem(f"the secret's installation_id {auth.installation_id} is not the App's installation on {ctx.repository} ({installation.id})",
                          f"set installation_id to {installation.id} in the secret")
        if installation.permissions.get("contents") != "write":
            raise Problem(f"GitHub App {auth.app_id} has Contents: {installation.permissions.get('contents', 'none')} on {ctx.repository}; "
                          "repository_dispatch needs write", "give the App Contents: read and write, and accept the new permission on the installation")
        return f"GitHub App {auth.app_id} is installed on {ctx.repository} with Contents: write"
    try:
        repo = github.get_repo(ctx.repository)
        push = repo.permissions.push
    except GithubException as exc:
        if exc.status not in (401, 404):
            raise
        what = "is not valid (expired or revoked)" if exc.status == 401 else f"cannot see {ctx.repository}"
        raise Problem(f"the bridge's token {what}", f"store a token that may dispatch to {ctx.repository} in the bridge's secret") from None
    scopes = github.oauth_scopes  # X-OAuth-Scopes: sent for classic tokens only
    if scopes is not None:
        scopes = [s for s in scopes if s]
        if "repo" not in scopes and not ("public_repo" in scopes and not repo.private):
            raise Problem(f"the bridge's classic token has the scopes {', '.join(scopes) or '(none)'}: repository_dispatch needs "
                          f"{'repo' if repo.private else 'repo or public_repo'}",
                          "create a token with the repo scope (or a fine-grained token with Contents: read and write) and store it in the secret")
    if not push:
        raise Problem(f"the bridge token's user may not push to {ctx.repository}: repository_dispatch needs write access",
                      f"give the token's user write access to {ctx.repository}, or use a GitHub App")
    if scopes is None:
        raise Skip(f"the token sees {ctx.repository} and its user may push, but GitHub shows a fine-grained token's permissions "
                   "to no API: make sure it has Contents: read and write")
    return f"a classic token with the {'repo' if 'repo' in scopes else 'public_repo'} scope, whose user may push to {ctx.repository}"
