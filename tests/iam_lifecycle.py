"""The whole lifecycle under IAM enforcement, as each role of infra/'s templates.

Deploys infra/github-oidc.yaml and infra/approval-bridge.yaml into the emulator through its
CloudFormation, assumes each role (before enforcement: AssumeRoleWithWebIdentity is unsigned, so it
fails once enforcement is on), turns enforcement on, and runs every phase as a `smops` process with
the credentials of the role its workflow job assumes; the approval bridge runs its Lambda handler
with the function role and the function's own environment, on the events EventBridge delivered to
it. A reviewer (an IAM user allowed everything) plays the parts that are not smops'.

Used by tests/test_iam_enforced.py and by scripts/iam-table (`python tests/iam_lifecycle.py`), which
writes infra/README.md's table of what each role did with what it is granted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import boto3

from smops import gha
from smops.emulator import events, iam, settings

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT, REGION = "123456789012", "us-east-1"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
REPOSITORY = "octo-org/churn"
PIPELINE = "churn-build"
GROUP = "smops-test-models"  # the group tests/data/pipeline-definition.json registers into
BUCKET = "example-bucket"  # where that pipeline's artifacts and evaluation report are
PREFIX = "churn-"
STAGING, PRODUCTION = "churn-staging", "churn-production"
OIDC_STACK, BRIDGE_STACK = "smops-github-oidc", "smops-approval-bridge"
CODE_KEY = "smops-bridge/0123456789abcdef.zip"
SESSION = "GitHubActions"  # configure-aws-credentials' default role-session-name
# The roles, by the logical id their template gives them.
BUILD, STAGING_ROLE, PRODUCTION_ROLE, FUNCTION = "BuildRole", "DeployRolestaging", "DeployRoleproduction", "FunctionRole"
MONITOR, PIPELINE_ROLE, MODEL_ROLE = "MonitorRole", "PipelineRole", "ModelRole"
# Where production captures, the build writes the baseline, and the monitor writes its violations.
CAPTURE = f"s3://{BUCKET}/smops-capture/{PRODUCTION}"
BASELINE = f"s3://{BUCKET}/smops-baseline/{GROUP}/release-1"
VIOLATIONS = f"s3://{BUCKET}/smops-monitor/{PRODUCTION}/1/constraint_violations.json"
# What SageMaker itself does as the pipeline's and the model's roles, inside jobs and endpoints.
IN_SAGEMAKER = "SageMaker calls it as this role inside {}; the emulator runs no containers (the policy simulator checks it)"
PIPELINE_ACTIONS = [
    "sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
    "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
    "sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:AddTags",
    "sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
    "s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation",
    "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
    "cloudwatch:PutMetricData", "iam:PassRole",
]
MODEL_ACTIONS = [
    "s3:GetObject", "s3:PutObject",
    "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
    "cloudwatch:PutMetricData",
]
TOKEN = "ghp_smopsIamLifecycleTokenNotReal000000"
# The roles that hold one policy (the deploy roles are one Fn::ForEach body), and their jobs.
POLICIES = {
    "build": {BUILD: "build.yml"},
    "deploy": {STAGING_ROLE: "deploy.yml, staging", PRODUCTION_ROLE: "deploy.yml, production"},
    "monitor": {MONITOR: "monitor.yml (schedule, workflow_dispatch)"},
    "approval bridge": {FUNCTION: "the bridge's Lambda"},
    "pipeline": {PIPELINE_ROLE: "the pipeline's jobs"},
    "model": {MODEL_ROLE: "the deployed models"},
}
# Granted actions this lifecycle does not use, and why each must stay: a path it did not take.
UNUSED = {
    ("build", "sagemaker:StopPipelineExecution"): "stops the execution when the job is cancelled or times out",
    ("build", "sagemaker:UpdateModelPackage"): (
        "a failed quality gate rejects the package, --approve-on-pass approves it, and a data baseline the "
        "pipeline did not register goes into its metadata (this pipeline registers one)"
    ),
    ("build", "sagemaker:DescribePipelineDefinitionForExecution"): (
        "a build of an unchanged pipeline reads back what its execution runs (another build may have updated it)"
    ),
    ("deploy", "sagemaker:DeleteTags"): "a deploy trims the rollback history (smops:served:N tags) past its 10 newest entries",
    ("deploy", "application-autoscaling:DeregisterScalableTarget"): (
        "an instance-type change of an autoscaled variant deregisters it around the update (UpdateEndpoint refuses otherwise)"
    ),
    ("deploy", "application-autoscaling:DeleteScalingPolicy"): "the same instance-type change removes the variant's policies first",
    ("deploy", "cloudwatch:DeleteAlarms"): (
        "AWS's autoscaling prerequisites: the caller manages the TargetTracking-* alarms of its policies"
    ),
    ("deploy", "iam:CreateServiceLinkedRole"): (
        "the first RegisterScalableTarget in an account creates Application Auto Scaling's service-linked role"
    ),
    ("deploy", "sagemaker:UpdateEndpointWeightsAndCapacities"): (
        "AWS's autoscaling prerequisites: scaling a variant changes its capacity through this action"
    ),
    ("approval bridge", "logs:CreateLogStream"): "Lambda writes the function's log with the function's role",
    ("approval bridge", "logs:PutLogEvents"): "Lambda writes the function's log with the function's role",
    ("approval bridge", "sqs:SendMessage"): (
        "Lambda sends an event that failed its retries to the dead-letter queue with the function's role"
    ),
    **{("pipeline", action): IN_SAGEMAKER.format("the pipeline's jobs") for action in PIPELINE_ACTIONS},
    **{("model", action): IN_SAGEMAKER.format("the endpoint (model artifacts, images, logs, data capture)")
       for action in MODEL_ACTIONS},
}
TABLE_START = "<!-- iam-table: written by scripts/iam-table from a lifecycle under IAM enforcement -->"
TABLE_END = "<!-- /iam-table -->"


def oidc_parameters() -> dict[str, str]:
    return {
        "Repository": REPOSITORY,
        "PipelineName": PIPELINE,
        "ArtifactBucket": BUCKET,
        "ModelPackageGroup": GROUP,
        "EndpointNamePrefix": PREFIX,
        "MonitoredEndpoint": PRODUCTION,
        # No PipelineExecutionRoleArn or ModelExecutionRoleArn: the stack creates both roles.
    }


def bridge_parameters(github_url: str) -> dict[str, str]:
    # No GitHubRepository: the bridge routes by the group's smops:github-repository tag.
    return {"ModelPackageGroups": GROUP, "GitHubApiUrl": github_url, "CodeS3Bucket": BUCKET, "CodeS3Key": CODE_KEY}


def template(name: str) -> str:
    return (ROOT / "infra" / name).read_text()


def stack_parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


@dataclass
class Role:
    name: str  # the template's logical id
    arn: str
    credentials: dict[str, str]  # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN


class Lifecycle:
    def __init__(self, emulator, github, workdir: Path):
        self.emulator = emulator
        self.github = github
        self.workdir = workdir
        self.steps = 0
        self.roles: dict[str, Role] = {}
        self.reviewer: dict[str, str] = {}
        self.packages: list[str] = []
        self.function: dict = {}  # the bridge's Lambda configuration
        self.pipeline_role = self.model_role = ""  # the ARNs of the roles the stack created
        self.enforced_after: str | None = None  # moto's setting before enforcement was turned on
        self.last_stderr = ""  # what the last smops process logged
        self.made: dict[str, list[iam.Decision]] = {}  # each role's IAM decisions in `run`
        self.base_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOPS_", "GITHUB_"))},
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
            "SMOPS_POLL_SECONDS": "0.05",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        }

    # -- clients ---------------------------------------------------------------------------------

    def client(self, service: str, credentials: dict[str, str] | None = None):
        """A boto3 client of the emulator with these credentials (the reviewer's by default)."""
        credentials = credentials or self.reviewer or self.emulator.env()
        return boto3.client(
            service, endpoint_url=self.emulator.url, region_name=REGION,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
        )

    # -- setting up: what an administrator does once, before any workflow runs ---------------------

    def set_up(self) -> None:
        """The stacks, the reviewer, the roles assumed; then enforcement on."""
        settings.step_seconds = 0.05
        settings.endpoint_seconds = 0.2
        settings.time_scale = 0.002
        # The train split the definition's Preprocess step writes: each build baselines it.
        settings.processing_outputs["train"] = "4.1,1.0,20.5\n5.2,2.0,30.5\n3.3,3.0,40.5\n"
        s3 = self.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=CODE_KEY, Body=b"PK\x05\x06" + bytes(18))
        s3.put_object(Bucket=BUCKET, Key="evaluation/evaluation.json",
                      Body=json.dumps({"regression_metrics": {"mse": {"value": 4.2}}}).encode())
        iam_client = self.client("iam")
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(StackName=OIDC_STACK, TemplateBody=template("github-oidc.yaml"),
                                    Capabilities=CAPABILITIES, Parameters=stack_parameters(oidc_parameters()))
        cloudformation.create_stack(StackName=BRIDGE_STACK, TemplateBody=template("approval-bridge.yaml"),
                                    Capabilities=CAPABILITIES,
                                    Parameters=stack_parameters(bridge_parameters(self.github.url)))
        bridge = self.outputs(BRIDGE_STACK)
        self.client("secretsmanager").put_secret_value(SecretId=bridge["SecretArn"], SecretString=TOKEN)
        sagemaker = self.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP, Tags=[
            {"Key": "smops:github-repository", "Value": REPOSITORY},
        ])
        oidc = self.outputs(OIDC_STACK)
        self.pipeline_role, self.model_role = oidc["PipelineRoleArn"], oidc["ModelRoleArn"]
        self.reviewer = self._reviewer(iam_client)
        self.function = self.client("lambda").get_function_configuration(FunctionName=bridge["FunctionArn"])
        self._assume_roles()
        self.enforced_after = iam.enforce(self.emulator.url)

    def _reviewer(self, iam_client) -> dict[str, str]:
        iam_client.create_user(UserName="reviewer")
        iam_client.put_user_policy(UserName="reviewer", PolicyName="everything", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }))
        key = iam_client.create_access_key(UserName="reviewer")["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    def _assume_roles(self) -> None:
        """As configure-aws-credentials does for each job (OIDC), and Lambda for the function."""
        sts = self.client("sts")
        oidc = self.outputs(OIDC_STACK)
        jobs = {BUILD: oidc["BuildRoleArn"], STAGING_ROLE: oidc["DeployRolestagingArn"],
                PRODUCTION_ROLE: oidc["DeployRoleproductionArn"], MONITOR: oidc["MonitorRoleArn"]}
        for name, arn in jobs.items():
            answer = sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName=SESSION, WebIdentityToken="oidc")
            self.roles[name] = Role(name, arn, _credentials(answer["Credentials"]))
        # SageMaker's roles: smops never runs as them (it passes them), so no credentials.
        for name, arn in ((PIPELINE_ROLE, oidc["PipelineRoleArn"]), (MODEL_ROLE, oidc["ModelRoleArn"])):
            self.roles[name] = Role(name, arn, {})
        function = self.function
        answer = sts.assume_role(RoleArn=function["Role"], RoleSessionName=function["FunctionName"])
        self.roles[FUNCTION] = Role(FUNCTION, function["Role"], _credentials(answer["Credentials"]))

    def close(self) -> None:
        """Enforcement off again, as it was before set_up."""
        if self.enforced_after is not None:
            iam.enforce(self.emulator.url, self.enforced_after)
            self.enforced_after = None

    def outputs(self, stack: str) -> dict[str, str]:
        found = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in found["Outputs"]}

    # -- the phases ------------------------------------------------------------------------------

    def smops(self, role: str, *args: str, expect: int = 0) -> dict[str, str]:
        """Run one smops command as a workflow step, with the credentials of the role its job assumes."""
        self.steps += 1
        output = self.workdir / f"step-{self.steps}.output"
        env = {
            **self.base_env, **self.roles[role].credentials,
            "GITHUB_RUN_ID": str(self.steps),  # each its own run: a build's execution token is per run
            "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(self.workdir / f"step-{self.steps}.summary.md"),
        }
        result = subprocess.run([sys.executable, "-m", "smops", *args], env=env, capture_output=True, text=True,
                                timeout=300)
        self.last_stderr = result.stderr
        if result.returncode != expect:
            raise AssertionError(f"smops {args[0]} as {role} exited {result.returncode}, not {expect}\n{result.stderr}")
        return gha.read_outputs(output)

    def lambda_runs(self) -> list[dict]:
        """Run the function's handler on the events EventBridge delivered to it, in order, as a warm
        Lambda would: one process with the function's environment and its role's credentials."""
        function = self.function
        module, _, name = function["Handler"].rpartition(".")
        code = (f"import json, sys; from {module} import {name}\n"
                f"for event in json.load(sys.stdin): print(json.dumps({name}(event, None)), flush=True)")
        env = {**self.base_env, **function["Environment"]["Variables"], **self.roles[FUNCTION].credentials}
        delivered = events.invocations(function["FunctionArn"], ACCOUNT, REGION)
        result = subprocess.run([sys.executable, "-c", code], input=json.dumps(delivered), env=env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"the approval bridge failed\n{result.stderr}")
        return [json.loads(line) for line in result.stdout.splitlines()]

    def approve(self, package: str, status: str = "Approved") -> None:
        """The reviewer, in the console: not a workflow's role."""
        self.client("sagemaker").update_model_package(ModelPackageArn=package, ModelApprovalStatus=status)

    def build_and_approve(self, description: str, *gates: str) -> str:
        """A push to main: build (a new description updates the pipeline) with its quality gates,
        register, approve, dispatch."""
        built = self.smops(BUILD, "build", "--pipeline", str(self.definition()),
                           "--pipeline-name", PIPELINE, "--role-arn", self.pipeline_role, "--description", description,
                           *gates)
        package = built["model-package-arn"]
        self.packages.append(package)
        dispatches = len(self.github.dispatches())
        self.approve(package)
        # The registration (PendingManualApproval: nothing to send), then the approval.
        actions = [r["action"] for r in self.lambda_runs()]
        sent = self.github.dispatches()[dispatches:]
        if actions != ["ignored", "dispatched"] or len(sent) != 1:
            raise AssertionError(f"the bridge did {actions} and sent {len(sent)} dispatches for {package}")
        return sent[0].body["client_payload"]["model-package-arn"]

    def definition(self) -> Path:
        """tests/data's pipeline, registering the data quality baseline the build writes (what a
        pipeline with a QualityCheckStep, or smops's build-time baseline, records on the package)."""
        path = self.workdir / "pipeline-definition.json"
        if not path.exists():
            definition = json.loads((ROOT / "tests" / "data" / "pipeline-definition.json").read_text())
            text = json.dumps(definition).replace(
                '"ModelMetrics": {"ModelQuality"',
                '"ModelMetrics": {"ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "'
                + BASELINE + '/statistics.json"}, "Constraints": {"ContentType": "application/json", "S3Uri": "'
                + BASELINE + '/constraints.json"}}, "ModelQuality"', 1)
            if text == json.dumps(definition):
                raise AssertionError("tests/data/pipeline-definition.json registers no ModelMetrics")
            path.write_text(text)
        return path

    def baseline_and_traffic(self) -> None:
        """The build's baseline of the training data (written as the build role), then production's
        traffic, shifted from it, which its data capture writes under CAPTURE."""
        rows = [[f"{0.1 * i + 0.01 * j:.3f}" for j in range(10)] for i in range(40)]
        dataset = self.workdir / "training.csv"
        dataset.write_text("".join(",".join(row) + "\n" for row in rows))
        self.smops(BUILD, "baseline", "--dataset", str(dataset), "--output", BASELINE)
        runtime = self.client("sagemaker-runtime")
        for row in rows[:20]:  # shifted: the check finds drift, and asks whether a retraining is in flight
            shifted = [f"{float(value) + 10:.3f}" for value in row]
            runtime.invoke_endpoint(EndpointName=PRODUCTION, Body=",".join(shifted).encode(), ContentType="text/csv")

    def run(self) -> None:
        """Two releases through staging and production (autoscaled), a rollback, then cleanup and a
        withdrawn approval;
        `made` is then every IAM decision of each role."""
        start = len(iam.decisions)
        payload = ROOT / "tests" / "data" / "smoke-payload.csv"
        first = self.build_and_approve("churn model, release 1")
        self.smops(STAGING_ROLE, "deploy", "--model-package-arn", first, "--endpoint-name", STAGING,
                   "--role-arn", self.model_role, "--environment", "staging")
        self.smops(STAGING_ROLE, "smoke-test", "--endpoint-name", STAGING, "--payload", str(payload))
        self.smops(PRODUCTION_ROLE, "deploy", "--model-package-arn", first, "--endpoint-name", PRODUCTION,
                   "--role-arn", self.model_role, "--environment", "production", "--create-alarms",
                   "--require-on-endpoint", STAGING, "--data-capture-uri", CAPTURE, "--data-capture-percent", "100",
                   "--autoscaling-min", "1", "--autoscaling-max", "2", "--autoscaling-target", "70")
        # The monitor starter's schedule: production's capture against the served package's baseline.
        self.baseline_and_traffic()
        self.smops(MONITOR, "drift", "--endpoint-name", PRODUCTION, "--since", "1h", "--violations-file", VIOLATIONS)
        # The second release must be no worse than what production serves.
        self.build_and_approve("churn model, release 2", "--gate", "mse:no-worse-than-baseline:50%",
                               "--baseline-endpoint", PRODUCTION)
        # A workflow_dispatch that names the group: the newest Approved package.
        staged = self.smops(STAGING_ROLE, "deploy", "--model-package-group", GROUP, "--endpoint-name", STAGING,
                            "--role-arn", self.model_role, "--environment", "staging")
        self.smops(STAGING_ROLE, "smoke-test", "--endpoint-name", STAGING, "--payload", str(payload))
        self.production_update(staged["model-package-arn"])
        # Something slipped past the alarms: production goes back to release 1 (autoscaling kept).
        self.smops(PRODUCTION_ROLE, "rollback", "--endpoint-name", PRODUCTION, "--environment", "production",
                   "--strategy", "canary", "--canary-size", "20", "--wait-interval", "300", "--create-alarms")
        # Staging tries release 2 on two instances: a third config, so cleanup has one to delete
        # besides the one serving and the one a rollback would return to.
        self.smops(STAGING_ROLE, "deploy", "--model-package-arn", staged["model-package-arn"], "--endpoint-name",
                   STAGING, "--role-arn", self.model_role, "--environment", "staging", "--instance-count", "2")
        # The production job's report: what serves, from which execution, approved by whom.
        self.smops(PRODUCTION_ROLE, "status", "--model-package-group", GROUP, "--endpoint-name", PRODUCTION)
        for role, endpoint in ((STAGING_ROLE, STAGING), (PRODUCTION_ROLE, PRODUCTION)):
            self.smops(role, "cleanup", "--endpoint-name", endpoint, "--keep", "0", "--min-age", "0")
        # The reviewer withdraws the first release: the bridge forgets its dispatched approval.
        self.approve(first, "Rejected")
        [withdrawn] = self.lambda_runs()
        if "removed smops:dispatched-approval" not in withdrawn["reason"]:
            raise AssertionError(f"the bridge did not clear the tag: {withdrawn}")
        self.made = self.decisions(start)

    def production_update(self, package: str, *more: str, expect: int = 0) -> dict[str, str]:
        """A canary update of production, guarded by the alarms smops creates."""
        return self.smops(PRODUCTION_ROLE, "deploy", "--model-package-arn", package, "--endpoint-name", PRODUCTION,
                          "--role-arn", self.model_role, "--environment", "production", "--strategy", "canary",
                          "--canary-size", "20", "--wait-interval", "300", "--create-alarms",
                          "--require-on-endpoint", STAGING, "--data-capture-uri", CAPTURE, *more, expect=expect)

    def update_oidc_stack(self, body: str) -> None:
        """What an administrator does to change the roles: update the stack, parameters as they are."""
        self.client("cloudformation").update_stack(
            StackName=OIDC_STACK, TemplateBody=body, Capabilities=CAPABILITIES,
            Parameters=[{"ParameterKey": key, "UsePreviousValue": True} for key in oidc_parameters()],
        )

    # -- what each role did ------------------------------------------------------------------------

    def decisions(self, since: int = 0) -> dict[str, list[iam.Decision]]:
        """The emulator's IAM decisions for each role, by the role's logical id."""
        by_arn = {role.arn.rsplit("/", 1)[1]: name for name, role in self.roles.items()}
        found: dict[str, list[iam.Decision]] = defaultdict(list)
        for decision in iam.decisions[since:]:
            kind, _, rest = decision.principal.split(":", 5)[-1].partition("/")
            if kind == "assumed-role" and rest.split("/")[0] in by_arn:
                found[by_arn[rest.split("/")[0]]].append(decision)
        return dict(found)


    def grants(self, role: str) -> dict[str, list[str]]:
        """Action -> resources, as the role's inline policies grant them (in their order)."""
        iam_client = self.client("iam")
        name = self.roles[role].arn.rsplit("/", 1)[1]
        granted: dict[str, list[str]] = {}
        for policy in sorted(iam_client.list_role_policies(RoleName=name)["PolicyNames"]):
            document = iam_client.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for statement in document["Statement"]:
                for action in _listed(statement["Action"]):
                    granted.setdefault(action, []).extend(_listed(statement["Resource"]))
        return granted

    def used(self, role: str) -> dict[str, set[str]]:
        """Action -> the operations that needed it, in `run`."""
        found: dict[str, set[str]] = defaultdict(set)
        for decision in self.made.get(role, []):
            if decision.allowed:
                found[decision.action].add(decision.operation.split(":", 1)[1])
        return found

    def table(self) -> str:
        """Markdown: per policy, each action granted, on what, and the operations that needed it."""
        names = self._logical_names()
        lines = [
            TABLE_START,
            "",
            f"As deployed with `Repository={REPOSITORY}`, `PipelineName={PIPELINE}`, `ArtifactBucket={BUCKET}`,",
            f"`ModelPackageGroup(s)={GROUP}`, `EndpointNamePrefix={PREFIX}`, `MonitoredEndpoint={PRODUCTION}` and no",
            "pipeline or model role given (the stack creates both); a resource in `Code` is the stack's",
            "resource of that logical id. Each cell lists the API operations smops made that needed the action.",
        ]
        for policy, roles in POLICIES.items():
            grants = {action: resources for role in roles for action, resources in self.grants(role).items()}
            used = {role: self.used(role) for role in roles}
            lines += ["", f"**{policy}** policy", ""]
            header = ["action granted", "resource"] + [f"{role} ({job})" for role, job in roles.items()]
            rows = []
            for action, resources in grants.items():
                cells = [", ".join(sorted(used[role].get(action, ()))) or "—" for role in roles]
                if not any(used[role].get(action) for role in roles):
                    cells[0] = f"unused here: {UNUSED.get((policy, action), 'NO REASON GIVEN')}"
                shown = ", ".join(f"`{_short(r, names)}`" for r in dict.fromkeys(resources))
                rows.append([f"`{action}`", shown, *cells])
            lines.append(gha.table(header, rows))
        return "\n".join(lines + ["", TABLE_END])

    def _logical_names(self) -> dict[str, str]:
        """Physical ids with a random part (a queue's name, a secret's ARN) -> the stack's logical id."""
        names = {}
        cloudformation = self.client("cloudformation")
        for stack in (OIDC_STACK, BRIDGE_STACK):
            for resource in cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]:
                physical = resource.get("PhysicalResourceId") or ""
                if physical:
                    names[physical.rsplit("/", 1)[-1] if physical.startswith("https://") else physical] = (
                        resource["LogicalResourceId"]
                    )
        return names


def readme_with_table(readme: str, table: str) -> str:
    start, end = readme.index(TABLE_START), readme.index(TABLE_END) + len(TABLE_END)
    return readme[:start] + table + readme[end:]


def main(argv: list[str]) -> int:
    """scripts/iam-table: run the lifecycle and write its table into infra/README.md (--check: only
    say whether it is current)."""
    import tempfile

    from smops.emulator import Emulator
    from smops.emulator.github import GitHubStandIn

    readme = ROOT / "infra" / "README.md"
    with Emulator() as emulator, GitHubStandIn() as github, tempfile.TemporaryDirectory() as workdir:
        lifecycle = Lifecycle(emulator, github, Path(workdir))
        try:
            lifecycle.set_up()
            lifecycle.run()
            table = lifecycle.table()
        finally:
            lifecycle.close()
    current = readme.read_text()
    wanted = readme_with_table(current, table)
    if wanted == current:
        print(f"{readme.relative_to(ROOT)}: the IAM table is current", file=sys.stderr)
        return 0
    if "--check" in argv:
        print(f"{readme.relative_to(ROOT)}: the IAM table is stale; run scripts/iam-table", file=sys.stderr)
        return 1
    readme.write_text(wanted)
    print(f"{readme.relative_to(ROOT)}: IAM table written", file=sys.stderr)
    return 0


def _listed(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def _short(arn: str, names: dict[str, str]) -> str:
    """The part of an ARN after the account, random physical names shown by their logical id."""
    for physical in sorted(names, key=len, reverse=True):
        arn = arn.replace(physical, names[physical])
    return arn.split(":", 5)[-1].lstrip(":") if arn.startswith("arn:") else arn


def _credentials(credentials: dict) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
