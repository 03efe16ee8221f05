"""IAM enforcement in the emulator, deciding as AWS does for the operations smops makes.

moto enforces IAM when asked (`POST /moto-api/reset-auth` with `0`), but it checks one action per
request, named after the signing name (CloudWatch's `monitoring:X`), against resource `*` unless
the response class names one (its SageMaker names none), and it knows nothing of the permissions an
operation needs besides its own. Here each request of an operation in `REQUIREMENTS` is checked as
AWS's Service Authorization Reference says: the action on each resource the operation requires,
by ARN, plus `sagemaker:AddTags`/`cloudwatch:TagResource` when it creates with tags and
`iam:PassRole` (with `iam:PassedToService`) when it hands SageMaker a role, and S3's ListBucket
with `s3:prefix` (conditions compare with StringEquals and StringLike). A denial is AccessDenied
with AWS's message. Other operations keep moto's check (with the IAM service prefix).

Every decision made under enforcement is kept in `decisions`, in order: who asked, for which
operation, which action on which resource, and whether it was allowed.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from moto.core.exceptions import ServiceException
from werkzeug.exceptions import HTTPException

SAGEMAKER = "sagemaker.amazonaws.com"
# Signing names that are not the service's IAM prefix.
IAM_PREFIXES = {"monitoring": "cloudwatch"}


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)  # condition keys of the request


@dataclass(frozen=True)
class Decision:
    principal: str  # the caller's ARN (an assumed role's session ARN)
    operation: str  # "sagemaker:CreateEndpoint": the API operation called
    action: str
    resource: str
    allowed: bool


class AccessDenied(ServiceException):
    """Serialized by moto like the service's own errors (defined outside moto: no service is implied)."""


decisions: list[Decision] = []
_decisions_lock = threading.Lock()


class Request:
    """The parameters of the request being authorized, and ARNs in its account and region."""

    def __init__(self, response, region: str, resource: str = "*"):
        self.response = response
        self.account = response.current_account
        self.region = region
        self.resource = resource  # what moto names (S3's bucket or object ARN)

    def param(self, name: str):
        return self.response._get_param(name)

    def sagemaker(self, kind: str, name_or_arn: str) -> str:
        """SageMaker writes names in lower case in its ARNs, and IAM matches the ARN it wrote."""
        if name_or_arn.startswith("arn:"):
            *head, resource = name_or_arn.split(":", 5)
            return ":".join([*head, resource.lower()])
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name_or_arn.lower()}"

    def alarm(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}"

    def tagged(self, action: str, arn: str) -> list[Check]:
        """Creating with tags needs the tagging action too."""
        return [Check(action, arn)] if self.param("Tags") else []

    def passed_role(self, parameter: str) -> list[Check]:
        role = self.param(parameter)
        return [Check("iam:PassRole", role, {"iam:PassedToService": SAGEMAKER})] if role else []


def _sagemaker_tags(r: Request) -> list[Check]:
    return [Check(f"sagemaker:{r.response._get_action()}", r.sagemaker("", r.param("ResourceArn")))]


def _create_endpoint(r: Request) -> list[Check]:
    endpoint = r.sagemaker("endpoint", r.param("EndpointName"))
    config = r.sagemaker("endpoint-config", r.param("EndpointConfigName"))
    action = "sagemaker:CreateEndpoint"
    return [Check(action, endpoint), Check(action, config)] + r.tagged("sagemaker:AddTags", endpoint)


def _update_endpoint(r: Request) -> list[Check]:
    """The caller must be able to describe the auto-rollback alarms, as SageMaker's guide says."""
    endpoint = r.sagemaker("endpoint", r.param("EndpointName"))
    config = r.sagemaker("endpoint-config", r.param("EndpointConfigName"))
    rollback = (r.param("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}
    action = "sagemaker:UpdateEndpoint"
    return [Check(action, endpoint), Check(action, config)] + [
        Check("cloudwatch:DescribeAlarms", r.alarm(alarm["AlarmName"])) for alarm in rollback.get("Alarms", [])
    ]


def _one(action: str, kind: str, parameter: str):
    return lambda r: [Check(action, r.sagemaker(kind, r.param(parameter)))]


def _listing(action: str):
    return lambda r: [Check(action, "*")]


def _create(action: str, kind: str, parameter: str, role: str | None = None):
    def checks(r: Request) -> list[Check]:
        arn = r.sagemaker(kind, r.param(parameter))
        return [Check(action, arn)] + r.tagged("sagemaker:AddTags", arn) + (r.passed_role(role) if role else [])

    return checks


def _invoke_endpoint(r: Request) -> list[Check]:
    name = unquote(urlparse(r.response.path).path.split("/")[2])
    return [Check("sagemaker:InvokeEndpoint", r.sagemaker("endpoint", name))]


def _put_metric_alarm(r: Request) -> list[Check]:
    arn = r.alarm(r.param("AlarmName"))
    return [Check("cloudwatch:PutMetricAlarm", arn)] + r.tagged("cloudwatch:TagResource", arn)


def _describe_alarms(r: Request) -> list[Check]:
    names = r.param("AlarmNames") or ["*"]
    return [Check("cloudwatch:DescribeAlarms", r.alarm(name)) for name in names]


def _get_secret_value(r: Request) -> list[Check]:
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id = r.param("SecretId")
    secrets = secretsmanager_backends[r.account][r.region].secrets
    if secret_id in secrets:
        arn = secrets[secret_id].arn
    elif secret_id.startswith("arn:"):
        arn = secret_id
    else:  # no such secret: AWS checks the ARN the name would have, without its random suffix
        arn = f"arn:aws:secretsmanager:{r.region}:{r.account}:secret:{secret_id}"
    return [Check("secretsmanager:GetSecretValue", arn)]


def _list_bucket(r: Request) -> list[Check]:
    """Listing a bucket gives s3:prefix, the Prefix asked for ('' when none), to the policy's conditions."""
    prefix = (r.response.querystring.get("prefix") or [""])[0]
    return [Check("s3:ListBucket", r.resource, {"s3:prefix": prefix})]


def _scalable_target(action: str):
    """Checked on the target's own ARN (`scalable-target/<id>`, which Application Auto Scaling
    mints), so a policy names targets only by `*`; a target not registered yet has no ARN: `*`."""

    def checks(r: Request) -> list[Check]:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        targets = applicationautoscaling_backends[r.account][r.region].targets
        target = targets.get(r.param("ScalableDimension"), {}).get(r.param("ResourceId"))
        return [Check(action, target.arn if target else "*")]

    return checks


# (IAM service prefix, operation) -> the checks AWS makes for a request of it.
REQUIREMENTS = {
    ("sagemaker", "CreatePipeline"): _create("sagemaker:CreatePipeline", "pipeline", "PipelineName", "RoleArn"),
    ("sagemaker", "UpdatePipeline"): _create("sagemaker:UpdatePipeline", "pipeline", "PipelineName", "RoleArn"),
    ("sagemaker", "DescribePipeline"): _one("sagemaker:DescribePipeline", "pipeline", "PipelineName"),
    ("sagemaker", "StartPipelineExecution"): _one("sagemaker:StartPipelineExecution", "pipeline", "PipelineName"),
    ("sagemaker", "DescribePipelineExecution"): _one("sagemaker:DescribePipelineExecution", "pipeline", "PipelineExecutionArn"),
    ("sagemaker", "ListPipelineExecutionSteps"): _one("sagemaker:ListPipelineExecutionSteps", "pipeline", "PipelineExecutionArn"),
    ("sagemaker", "StopPipelineExecution"): _one("sagemaker:StopPipelineExecution", "pipeline", "PipelineExecutionArn"),
    ("sagemaker", "ListPipelineParametersForExecution"): _one(
        "sagemaker:ListPipelineParametersForExecution", "pipeline", "PipelineExecutionArn"
    ),
    ("sagemaker", "DescribePipelineDefinitionForExecution"): _one(
        "sagemaker:DescribePipelineDefinitionForExecution", "pipeline", "PipelineExecutionArn"
    ),
    ("sagemaker", "DescribeTrainingJob"): _one("sagemaker:DescribeTrainingJob", "training-job", "TrainingJobName"),
    ("sagemaker", "DescribeModelPackage"): _one("sagemaker:DescribeModelPackage", "model-package", "ModelPackageName"),
    ("sagemaker", "UpdateModelPackage"): _one("sagemaker:UpdateModelPackage", "model-package", "ModelPackageArn"),
    ("sagemaker", "DescribeModelPackageGroup"): _one(
        "sagemaker:DescribeModelPackageGroup", "model-package-group", "ModelPackageGroupName"
    ),
    ("sagemaker", "ListModelPackages"): _listing("sagemaker:ListModelPackages"),
    ("sagemaker", "AddTags"): _sagemaker_tags,
    ("sagemaker", "ListTags"): _sagemaker_tags,
    ("sagemaker", "DeleteTags"): _sagemaker_tags,
    ("sagemaker", "CreateModel"): _create("sagemaker:CreateModel", "model", "ModelName", "ExecutionRoleArn"),
    ("sagemaker", "DescribeModel"): _one("sagemaker:DescribeModel", "model", "ModelName"),
    ("sagemaker", "DeleteModel"): _one("sagemaker:DeleteModel", "model", "ModelName"),
    ("sagemaker", "ListModels"): _listing("sagemaker:ListModels"),
    ("sagemaker", "CreateEndpointConfig"): _create("sagemaker:CreateEndpointConfig", "endpoint-config", "EndpointConfigName"),
    ("sagemaker", "DescribeEndpointConfig"): _one("sagemaker:DescribeEndpointConfig", "endpoint-config", "EndpointConfigName"),
    ("sagemaker", "DeleteEndpointConfig"): _one("sagemaker:DeleteEndpointConfig", "endpoint-config", "EndpointConfigName"),
    ("sagemaker", "ListEndpointConfigs"): _listing("sagemaker:ListEndpointConfigs"),
    ("sagemaker", "CreateEndpoint"): _create_endpoint,
    ("sagemaker", "UpdateEndpoint"): _update_endpoint,
    ("sagemaker", "DescribeEndpoint"): _one("sagemaker:DescribeEndpoint", "endpoint", "EndpointName"),
    ("sagemaker", "InvokeEndpoint"): _invoke_endpoint,
    ("sagemaker", "CreateProcessingJob"): _create(
        "sagemaker:CreateProcessingJob", "processing-job", "ProcessingJobName", "RoleArn"
    ),
    ("sagemaker", "DescribeProcessingJob"): _one("sagemaker:DescribeProcessingJob", "processing-job", "ProcessingJobName"),
    ("sagemaker", "StopProcessingJob"): _one("sagemaker:StopProcessingJob", "processing-job", "ProcessingJobName"),
    ("cloudwatch", "PutMetricAlarm"): _put_metric_alarm,
    ("cloudwatch", "DescribeAlarms"): _describe_alarms,
    ("secretsmanager", "GetSecretValue"): _get_secret_value,
    ("s3", "ListBucket"): _list_bucket,
    **{
        ("application-autoscaling", name): _scalable_target(f"application-autoscaling:{name}")
        for name in ("RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy", "DeleteScalingPolicy")
    },
    ("application-autoscaling", "DescribeScalableTargets"): _listing("application-autoscaling:DescribeScalableTargets"),
    ("application-autoscaling", "DescribeScalingPolicies"): _listing("application-autoscaling:DescribeScalingPolicies"),
}


def _checks(response, region: str, operation: str, resource: str) -> tuple[list[Check], bool]:
    """The request's checks, and whether they are moto's own (an operation not in REQUIREMENTS)."""
    requirement = REQUIREMENTS.get(tuple(operation.split(":", 1)))
    if requirement is None:
        return [Check(operation, resource)], True
    return requirement(Request(response, region, resource)), False


def _denial(response, moto_request, check: Check, policies: list | None) -> Exception | None:
    """None when allowed, else the error to answer: moto decides the operations it knows (no
    `policies`), with the IAM service prefix; ours are decided on the caller's `policies` (moto
    IAMPolicy objects) with the request's condition keys (iam:PassedToService)."""
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.access_control import PermissionResult

    principal = moto_request._access_key.arn
    moto_request._action = check.action
    if policies is None:
        try:
            moto_request.check_action_permitted(check.resource)
        except AccessDeniedError:
            return access_denied(response, principal, check)
        except (HTTPException, ServiceException) as error:  # S3's own AccessDenied
            return error
        return None
    results = {policy.is_action_permitted(check.action, check.resource, None, check.context) for policy in policies}
    if PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results:
        return None
    if check.action.startswith("s3:"):  # S3 words it its own way, as moto's S3 does
        from moto.s3.exceptions import S3AccessDeniedError

        return S3AccessDeniedError()
    return access_denied(response, principal, check)


def access_denied(response, principal: str, check: Check) -> HTTPException:
    """AccessDenied as AWS words it, serialized in the service's protocol (JSON, CBOR, XML);
    JSON services call it AccessDeniedException."""
    from moto.core.responses import ActionResult
    from moto.core.utils import get_service_model

    message = (
        f"User: {principal} is not authorized to perform: {check.action} on resource: {check.resource} "
        f"because no identity-based policy allows the {check.action} action"
    )
    protocol = get_service_model(response.boto3_service_name).protocol
    code = "AccessDeniedException" if protocol in {"json", "rest-json"} else "AccessDenied"
    with warnings.catch_warnings():  # common to every AWS service, modelled by none of them
        warnings.simplefilter("ignore")
        _, headers, body = response.serialized(ActionResult(AccessDenied(code, message)))
    response.response_headers.update(headers)  # moto answers a failed authorization with these
    error = HTTPException(description=body)
    error.code = 400 if protocol == "json" else 403
    return error


def _string_like(expected: list[str] | str, actual: str) -> bool:
    """IAM's StringLike: * any run of characters, ? one character, case-sensitive."""
    patterns = expected if isinstance(expected, list) else [expected]
    return any(re.fullmatch(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), actual, re.DOTALL) for p in patterns)


def install() -> None:
    """Decide each request's checks in moto's one place for it (ActionAuthenticatorMixin)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicy

    # moto compares conditions with StringEquals only and takes any other operator as met.
    policy_conditions.CONDITION_OPERATIONS["StringLike"] = _string_like

    def authenticate_and_authorize(self, iam_request_cls, resource="*"):
        # moto's flow: free for the first INITIAL_NO_AUTH_ACTION_COUNT requests, public operations,
        # the signature; then every check of the request instead of its one action on one resource.
        if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
            ActionAuthenticatorMixin.request_count += 1
            return
        if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
            return
        query = urlparse(self.uri).query
        moto_request = iam_request_cls(
            account_id=self.current_account, method=self.method, path=self.raw_path + (f"?{query}" if query else ""),
            data=self.data, body=self.raw_body, headers=self.headers, action=self._get_action(),
        )
        moto_request.check_signature()
        service, _, name = moto_request._action.partition(":")
        operation = f"{IAM_PREFIXES.get(service, service)}:{name}"
        checks, moto_default = _checks(self, moto_request._region, operation, resource)
        # The caller's policies, collected once for all the request's checks.
        policies = None if moto_default else [IAMPolicy(p) for p in moto_request._access_key.collect_policies()]
        for check in checks:
            error = _denial(self, moto_request, check, policies)
            with _decisions_lock:
                decisions.append(
                    Decision(moto_request._access_key.arn, operation, check.action, check.resource, error is None)
                )
            if error is not None:
                raise error

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize


def enforce(url: str, after: str = "0") -> str:
    """Turn moto's enforcement on after this many more requests ("inf": off), through the emulator
    at `url`; returns the previous setting. Roles must be assumed before: AssumeRoleWithWebIdentity
    is unsigned, so it fails once enforcement is on."""
    import json
    import urllib.request

    request = urllib.request.Request(f"{url}/moto-api/reset-auth", data=after.encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
