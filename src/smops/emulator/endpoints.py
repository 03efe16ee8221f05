"""Endpoints that take time, UpdateEndpoint with SageMaker's rollback, and InvokeEndpoint.

moto creates endpoints InService at once and has no UpdateEndpoint. Here an endpoint is
`Creating` for `settings.endpoint_seconds`; an update is `Updating` while the new fleet comes up
and bakes for the DeploymentConfig's waits (scaled by `settings.time_scale`), and rolls back to
the old config when an alarm named in AutoRollbackConfiguration is in ALARM during the bake.
While an update is under way, another UpdateEndpoint is refused as SageMaker refuses it
(ValidationException `Cannot update in-progress endpoint "ARN".`), and a config deleted during
the update does not stop it (SageMaker deploys what it read at the start). A test can hold an
endpoint's updates in `Updating` until it releases them (`faults.hold(endpoint=…)`).

Automatic scaling, as AWS documents it ("Update endpoints that use auto scaling"): UpdateEndpoint
is refused when it would change the instance type of, or remove, a variant registered with
Application Auto Scaling; the new fleet starts with the new config's InitialInstanceCount unless
RetainAllVariantProperties keeps the variant's current DesiredInstanceCount (and weight); and
capacity cannot be changed (UpdateEndpointWeightsAndCapacities, what scaling calls) while the
endpoint is not InService.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import sagemaker_backends

from smops.emulator import datacapture, faults
from smops.emulator.settings import settings

@dataclass
class Deployment:
    """One UpdateEndpoint in progress."""

    new_config: str
    config: dict
    variants: list[dict]  # the new config's ProductionVariants, as read when the update started
    data_capture: dict | None
    started: float
    bake_from: float
    bake_until: float
    alarms: list[str]
    retained: frozenset[str] = frozenset()  # DesiredInstanceCount / DesiredWeight kept from the old fleet
    rolled_back_until: float | None = None


@dataclass
class EndpointState:
    ready_at: float = 0.0
    deployment: Deployment | None = None
    failure_reason: str | None = None
    last_deployment_config: dict | None = field(default=None)
    instance_types: dict[str, str | None] = field(default_factory=dict)  # variant → what it runs on


# Keyed by moto's FakeEndpoint, so a moto reset forgets the emulator's state with it.
_states: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _state(endpoint) -> EndpointState:
    return _states.setdefault(endpoint, EndpointState())


def advance(backend) -> None:
    now = time.time()
    for endpoint in backend.endpoints.values():
        state = _state(endpoint)
        if endpoint.endpoint_status == "Creating" and now >= state.ready_at:
            reason = settings.fail_endpoints.get(endpoint.endpoint_name)
            endpoint.endpoint_status = "Failed" if reason else "InService"
            state.failure_reason = reason
        deployment = state.deployment
        if deployment is None or faults.update_held(endpoint.endpoint_name):
            continue
        if deployment.rolled_back_until is None:
            tripped = _tripped_alarms(backend, deployment, now)
            broken = settings.fail_endpoints.get(endpoint.endpoint_name) if now >= deployment.bake_from else None
            if tripped or broken:
                deployment.rolled_back_until = now + settings.endpoint_seconds / 2
                endpoint.endpoint_status = "RollingBack"
                state.failure_reason = broken or (
                    f"Deployment of {deployment.new_config} was rolled back because "
                    f"CloudWatch alarm(s) {', '.join(tripped)} went into ALARM state during the bake."
                )
            elif now >= deployment.bake_until:
                _finish(backend, endpoint, state)
        elif now >= deployment.rolled_back_until:
            # A rollback that fails leaves the endpoint serving a mix of the old and new configs.
            stuck = settings.fail_rollbacks.get(endpoint.endpoint_name)
            endpoint.endpoint_status = "UpdateRollbackFailed" if stuck else "InService"
            if stuck:
                state.failure_reason = stuck
            state.deployment = None


def _tripped_alarms(backend, deployment: Deployment, now: float) -> list[str]:
    """Alarms in ALARM that went there before the bake ended (SageMaker watches them throughout)."""
    if now < deployment.bake_from:
        return []
    alarms = cloudwatch_backends[backend.account_id][backend.region_name].alarms
    tripped = []
    for name in deployment.alarms:
        alarm = alarms.get(name)
        if alarm is None or alarm.state_value != "ALARM":
            continue
        if alarm.state_updated_timestamp.timestamp() <= deployment.bake_until:
            tripped.append(name)
    return tripped


def _finish(backend, endpoint, state: EndpointState) -> None:
    deployment = state.deployment
    endpoint.endpoint_config_name = deployment.new_config
    endpoint.production_variants = _new_variants(endpoint, deployment)
    state.instance_types = _instance_types(deployment.variants)
    endpoint.data_capture_config = deployment.data_capture
    endpoint.endpoint_status = "InService"
    state.last_deployment_config = deployment.config
    state.failure_reason = None
    state.deployment = None


def _instance_types(variants: list[dict]) -> dict[str, str | None]:
    return {v["VariantName"]: v.get("InstanceType") for v in variants}


def _new_variants(endpoint, deployment: Deployment) -> list[dict]:
    """The new fleet's variants: the config's, with what RetainAllVariantProperties kept."""
    variants = endpoint._process_production_variants(deployment.variants)
    old = {v["VariantName"]: v for v in endpoint.production_variants}
    for variant in variants:
        kept = old.get(variant["VariantName"])
        if kept is None:
            continue
        if "DesiredInstanceCount" in deployment.retained and kept.get("DesiredInstanceCount"):
            variant["DesiredInstanceCount"] = variant["CurrentInstanceCount"] = kept["DesiredInstanceCount"]
        if "DesiredWeight" in deployment.retained and kept.get("DesiredWeight") is not None:
            variant["DesiredWeight"] = variant["CurrentWeight"] = kept["DesiredWeight"]
    return variants


def _check_scaling(backend, endpoint, state: EndpointState, new_variants: list[dict]) -> None:
    """Refuse an instance-type change, or the removal, of a variant registered for auto scaling."""
    registered = applicationautoscaling_backends[backend.account_id][backend.region_name].targets.get(
        "sagemaker:variant:DesiredInstanceCount", {}
    )
    new_types = {v["VariantName"]: v.get("InstanceType") for v in new_variants}
    for variant in endpoint.production_variants:
        name = variant["VariantName"]
        if f"endpoint/{endpoint.endpoint_name}/variant/{name}" not in registered:
            continue
        if name not in new_types or new_types[name] != state.instance_types.get(name):
            change = "removes" if name not in new_types else "changes the instance type of"
            raise ValidationError(
                f"The update {change} production variant {name}, which is registered with Application Auto "
                "Scaling. Delete its scaling policies and deregister it (DeregisterScalableTarget) before "
                "updating the endpoint, then register it again."
            )


def _check_capacity(name: str, size: dict | None, low: int, high: int) -> None:
    if not size:
        raise ValidationError(f"{name} is required for this traffic routing type.")
    if size.get("Type") == "CAPACITY_PERCENT" and not low <= size.get("Value", 0) <= high:
        raise ValidationError(f"{name} Value must be between {low} and {high} percent.")


def _validate(backend, config: dict) -> list[str]:
    """UpdateEndpoint's DeploymentConfig rules; returns the rollback alarm names."""
    blue_green = config.get("BlueGreenUpdatePolicy")
    rolling = config.get("RollingUpdatePolicy")
    if blue_green and rolling:
        raise ValidationError("Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy can be specified.")
    policy = blue_green or rolling or {}
    if blue_green:
        routing = blue_green.get("TrafficRoutingConfiguration") or {}
        kind = routing.get("Type")
        if kind not in {"ALL_AT_ONCE", "CANARY", "LINEAR"}:
            raise ValidationError(f"Invalid TrafficRoutingConfiguration Type: {kind}")
        if "WaitIntervalInSeconds" not in routing:
            raise ValidationError("WaitIntervalInSeconds is required in TrafficRoutingConfiguration.")
        waits = [routing["WaitIntervalInSeconds"], blue_green.get("TerminationWaitInSeconds", 0)]
        if kind == "CANARY":
            _check_capacity("CanarySize", routing.get("CanarySize"), 1, 50)
        if kind == "LINEAR":
            _check_capacity("LinearStepSize", routing.get("LinearStepSize"), 10, 50)
    elif rolling:
        _check_capacity("MaximumBatchSize", rolling.get("MaximumBatchSize"), 5, 50)
        waits = [rolling.get("WaitIntervalInSeconds", 0)]
    else:
        waits = [0]
    if any(not 0 <= w <= 3600 for w in waits):
        raise ValidationError("WaitIntervalInSeconds and TerminationWaitInSeconds must be between 0 and 3600.")
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    if timeout is not None and not (600 <= timeout <= 28800 and timeout > sum(waits)):
        raise ValidationError(
            "MaximumExecutionTimeoutInSeconds must be between 600 and 28800 and exceed the total wait time."
        )
    alarms = [a["AlarmName"] for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
    if config.get("AutoRollbackConfiguration") is not None and not 1 <= len(alarms) <= 10:
        raise ValidationError("AutoRollbackConfiguration must name between 1 and 10 alarms.")
    known = cloudwatch_backends[backend.account_id][backend.region_name].alarms
    missing = [a for a in alarms if a not in known]
    if missing:
        raise ValidationError(f"The alarm(s) {', '.join(missing)} do not exist.")
    return alarms


def _bake_seconds(config: dict) -> float:
    """Real seconds the emulated bake lasts: the config's waits, scaled down."""
    blue_green = config.get("BlueGreenUpdatePolicy")
    if blue_green:
        routing = blue_green["TrafficRoutingConfiguration"]
        steps = 1
        if routing["Type"] == "LINEAR":
            steps = -(-100 // routing["LinearStepSize"]["Value"])
        simulated = steps * routing["WaitIntervalInSeconds"] + blue_green.get("TerminationWaitInSeconds", 0)
    elif config.get("RollingUpdatePolicy"):
        rolling = config["RollingUpdatePolicy"]
        steps = -(-100 // rolling["MaximumBatchSize"]["Value"])
        simulated = steps * rolling.get("WaitIntervalInSeconds", 0)
    else:
        simulated = 0
    return simulated * settings.time_scale


def patch(response_class) -> None:
    original_create = response_class.create_endpoint
    original_describe = response_class.describe_endpoint

    def create_endpoint(self):
        name = self._get_param("EndpointName")
        if name in self.sagemaker_backend.endpoints:  # moto would replace it
            raise ValidationError(
                f'Cannot create already existing endpoint "{self.sagemaker_backend.endpoints[name].arn}".'
            )
        result = original_create(self)
        endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
        endpoint.endpoint_status = "Creating"
        state = _state(endpoint)
        state.ready_at = time.time() + settings.endpoint_seconds
        config = self.sagemaker_backend.endpoint_configs[endpoint.endpoint_config_name]
        state.instance_types = _instance_types(config.production_variants)
        return result

    def update_endpoint(self):
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(f"Could not find endpoint \"{name}\".")
        if endpoint.endpoint_status != "InService":
            raise ValidationError(f"Cannot update in-progress endpoint \"{endpoint.arn}\".")
        config_name = self._get_param("EndpointConfigName")
        if config_name not in backend.endpoint_configs:
            raise ValidationError(f"Could not find endpoint configuration \"{config_name}\".")
        new_config = backend.endpoint_configs[config_name]
        new_variants = new_config.production_variants
        # What the endpoint runs now (its config may have been deleted since: SageMaker allows it).
        old_variants = endpoint.production_variants
        config = self._get_param("DeploymentConfig") or {}
        serverless = any("ServerlessConfig" in v for v in new_variants) or any(
            "CurrentServerlessConfig" in v for v in old_variants
        )
        if config and serverless:
            raise ValidationError("DeploymentConfig is not supported for serverless endpoints.")
        if config and {v["VariantName"] for v in new_variants} != {v["VariantName"] for v in old_variants}:
            raise ValidationError(
                "The new endpoint configuration must have the same variant names for a blue/green "
                "or rolling deployment."
            )
        alarms = _validate(backend, config)
        state = _state(endpoint)
        _check_scaling(backend, endpoint, state, new_variants)
        retained = frozenset()
        if self._get_param("RetainAllVariantProperties"):
            excluded = {p["VariantPropertyType"] for p in self._get_param("ExcludeRetainedVariantProperties") or []}
            retained = frozenset({"DesiredInstanceCount", "DesiredWeight"} - excluded)
        now = time.time()
        bake_from = now + settings.endpoint_seconds
        state.deployment = Deployment(
            new_config=config_name,
            config=config,
            variants=new_variants,
            data_capture=new_config.data_capture_config,
            started=now,
            bake_from=bake_from,
            bake_until=bake_from + _bake_seconds(config),
            alarms=alarms,
            retained=retained,
        )
        state.failure_reason = None
        endpoint.endpoint_status = "Updating"
        faults.update_held(name, count=True)
        return ActionResult({"EndpointArn": endpoint.arn})

    def describe_endpoint(self):
        result = original_describe(self)
        endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
        state = _state(endpoint)
        if state.failure_reason:
            result.result["FailureReason"] = state.failure_reason
        if state.last_deployment_config:
            result.result["LastDeploymentConfig"] = state.last_deployment_config
        if state.deployment and state.deployment.rolled_back_until is None:
            result.result["PendingDeploymentSummary"] = {
                "EndpointConfigName": state.deployment.new_config,
                "ProductionVariants": _new_variants(endpoint, state.deployment),
                "StartTime": state.deployment.started,
            }
        return result

    original_capacities = response_class.update_endpoint_weights_and_capacities

    def update_endpoint_weights_and_capacities(self):
        """Blocked, like automatic scaling, while the endpoint is not InService."""
        endpoint = self.sagemaker_backend.endpoints.get(self._get_param("EndpointName"))
        if endpoint is not None and endpoint.endpoint_status != "InService":
            raise ValidationError(f"Cannot update in-progress endpoint \"{endpoint.arn}\".")
        return original_capacities(self)

    for function in (create_endpoint, update_endpoint, describe_endpoint, update_endpoint_weights_and_capacities):
        setattr(response_class, function.__name__, function)


class ModelError(ServiceException):
    """What InvokeEndpoint answers when the model container returns an error."""

    code = "ModelError"

    def __init__(self, status: int, message: str, endpoint: str):
        super().__init__(f"Received server error ({status}) from primary with message \"{message}\".")
        self.OriginalStatusCode = status
        self.OriginalMessage = message
        self.LogStreamArn = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{endpoint}"


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


def patch_runtime(runtime_class, lock) -> None:
    def invoke_endpoint(self):
        """Answer only for endpoints that exist and serve; canned answers and failures per endpoint."""
        name = self.path.split("/")[2]
        backend = sagemaker_backends[self.current_account][self.region]
        with lock:
            advance(backend)
            endpoint = backend.endpoints.get(name)
            serving = endpoint is not None and endpoint.endpoint_status in {"InService", "Updating", "RollingBack"}
        if not serving:
            raise RuntimeValidationError(f"Endpoint {name} of account {self.current_account} not found.")
        delay = settings.invoke_latency_ms.get(name)
        if delay:
            time.sleep(delay / 1000)
        if name in settings.invoke_failures:
            status, message = settings.invoke_failures[name]
            raise ModelError(status, message, name)
        content_type = self.headers.get("Content-Type", "application/json")
        body = settings.invoke_responses.get(name)
        if body is None:
            body = '{"predictions": [0.42]}' if "json" in content_type else "0.42\n"
        headers = {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": _variant(endpoint)}
        request = self.body if isinstance(self.body, bytes) else (self.body or "").encode()
        datacapture.write(self.current_account, endpoint, _variant(endpoint), (request, content_type),
                          (body.encode(), content_type))
        return 200, headers, body

    runtime_class.invoke_endpoint = invoke_endpoint
    runtime_class.use_raw_body = True  # a request body is any bytes (an image, say), not UTF-8 text


def _variant(endpoint) -> str:
    return endpoint.production_variants[0]["VariantName"] if endpoint.production_variants else "AllTraffic"
