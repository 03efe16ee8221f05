"""What a deploy or a rollback will do, decided before anything changes.

`smops deploy` and `smops rollback` act on a Plan made here, and `--dry-run` shows the same Plan
(`smops.deploy.plan_report`) instead of acting on it, so the plan shown and the deployment done cannot
disagree. Making a Plan only reads from AWS; every refusal (exit 2) is raised here, before the
first change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import botocore.exceptions

from smops import aws, endpoint, gha, registry
from smops.deploy import alarms, history, scaling
from smops.deploy.strategy import Strategy, check_serverless, fallback_warnings
from smops.errors import BadInput, RemoteFailure

CONFIG_TAG = "smops:config-sha256"
ENDPOINT_TAG = "smops:endpoint"
PACKAGE_TAG = "smops:model-package-arn"
RUN_TAG = "smops:run-url"
NAME_MAX = 63
FAILED = {"Failed", "UpdateRollbackFailed", "OutOfService"}


@dataclass(frozen=True)
class Fleet:
    """One side of the change, as the diff shows it."""

    config: str | None
    package_arn: str | None
    model: str | None
    role: str | None
    variant: str
    instance_type: str | None = None
    instance_count: int | None = None
    serverless: dict | None = None
    data_capture: dict | None = None
    configured_count: int | None = None  # the config's InitialInstanceCount, when the live count differs
    package_name: str | None = None  # "group v3" as the registry spells it

    def settings(self) -> dict[str, str]:
        """Each setting as one short line, for the diff."""
        capture = self.data_capture or {}
        enabled = capture.get("EnableCapture", bool(capture))
        percent = capture.get("InitialSamplingPercentage", capture.get("CurrentSamplingPercentage"))
        return {
            "endpoint config": self.config or "—",
            "model": (self.package_name or package_label(self.package_arn) if self.package_arn else "no model package")
            + (f" ({self.model})" if self.model else ""),
            "role": self.role or "—",
            "variant": self.variant,
            "instance type": self.instance_type or "—",
            "instance count": "—" if self.instance_count is None else str(self.instance_count)
            + (f" (the config says {self.configured_count})" if self.configured_count not in (None, self.instance_count) else ""),
            "serverless": (
                f"{self.serverless['MemorySizeInMB']} MB, {self.serverless['MaxConcurrency']} concurrent"
                if self.serverless
                else "—"
            ),
            "data capture": f"{percent}% to {capture.get('DestinationS3Uri')}" if enabled else "off",
        }


@dataclass
class Plan:
    """Everything a deploy or rollback decided: what serves now, what will, and how it gets there."""

    command: str  # deploy | rollback
    endpoint_name: str
    action: str  # created | updated | unchanged
    new: Fleet
    old: Fleet | None
    current: dict | None  # DescribeEndpoint, None for a new endpoint
    package: dict | None
    strategy: Strategy
    shifting: bool  # an update that takes a DeploymentConfig (instances on both sides)
    creates_config: bool
    alarms_created: tuple[str, ...] = ()
    alarm_states: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    scaling_before: scaling.Registration | None = None
    scaling_after: scaling.Registration | None = None
    retain_instances: bool = False  # RetainAllVariantProperties: the new fleet keeps the live count
    suspend_scaling: bool = False  # deregister around the update (instance-type change)
    waits_for: str | None = None  # an update in progress the command waits for first
    environment: str | None = None
    # deploy only: what CreateEndpointConfig gets (CreateModel: new.role and new.package_arn)
    variant_spec: dict | None = None
    data_capture: dict | None = None
    fingerprint: str | None = None

    @property
    def config_name(self) -> str:
        return self.new.config or ""

    def deployment_config(self) -> dict | None:
        return self.strategy.deployment_config() if self.shifting else None

    def scaling_changes(self) -> bool:
        return self.scaling_after is not None and not self.scaling_after.same_as(self.scaling_before)

    def update_request(self) -> dict:
        """UpdateEndpoint's arguments."""
        request: dict = {"EndpointName": self.endpoint_name, "EndpointConfigName": self.config_name}
        config = self.deployment_config()
        if config:
            request["DeploymentConfig"] = config
        if self.retain_instances:
            request["RetainAllVariantProperties"] = True
        return request


# -- deploy ----------------------------------------------------------------------------------------


def for_deploy(args, sm, cw, aas, deadline: float, wait: bool) -> Plan:
    """The plan of `smops deploy`; waits for a busy endpoint only when `wait` (a real deploy)."""
    serverless = args.serverless_memory_mb is not None
    strategy = strategy_with_alarms(args, args.variant_name)
    check_flags(args, strategy, serverless)
    wanted = scaling.from_args(args)
    if wanted:
        scaling.check(wanted, args.instance_type, serverless)
    package = registry.resolve(sm, args.model_package_arn, args.model_package_group, "Approved")
    check_package(package)
    arn = package["ModelPackageArn"]
    if args.require_on_endpoint:
        require_on(sm, args.require_on_endpoint, arn)
    variant = variant_spec(args, serverless)
    capture = data_capture_config(args)
    digest = fingerprint(arn, variant, capture)
    current, waits_for, pending = settled_endpoint(sm, args.endpoint_name, args.wait_if_busy, digest, deadline, wait)
    old = fleet_of_endpoint(sm, current) if current else None
    before = scaling.current(aas, args.endpoint_name, args.variant_name) if current else None
    common = {
        "command": "deploy",
        "endpoint_name": args.endpoint_name,
        "current": current,
        "old": old,
        "package": package,
        "strategy": strategy,
        "environment": args.environment,
        "waits_for": waits_for,
        "scaling_before": before,
        "scaling_after": _scaling_after(before, wanted),
        "fingerprint": digest,
    }
    timeout_warning = strategy_timeout_warning(strategy, args.timeout)
    warnings = [timeout_warning] if timeout_warning else []

    serving = pending or (serving_this(sm, old, arn, digest, args.role_arn) if current else None)
    if serving:
        return Plan(
            action="unchanged",
            new=old if not pending else fleet_of_config(sm, pending, args.variant_name)[0],
            shifting=False,
            creates_config=False,
            warnings=warnings,
            alarm_states=alarms.states(cw, list(args.alarm)),
            **common,
        )
    if not args.role_arn:
        raise BadInput("no --role-arn given", "pass the IAM role the model runs as (role-arn input)")
    if current:
        check_update(args.endpoint_name, args.variant_name, strategy, current, serverless)
    shifting = bool(current) and not serverless and not is_serverless(current)
    alarm_states = alarms.states(cw, list(strategy.alarms))
    alarms.check_exist(alarm_states, list(args.alarm))
    if shifting:
        warnings += fallback_warnings(strategy, args.instance_type)
    warnings += unsupported_instance_warnings(package, args, serverless)
    new_type = None if serverless else args.instance_type
    plan = Plan(
        action="updated" if current else "created",
        new=Fleet(
            config=(name := resource_name(args.endpoint_name, package)),
            package_arn=arn,
            package_name=registry.label(package),
            model=name,
            role=args.role_arn,
            variant=args.variant_name,
            instance_type=new_type,
            instance_count=None if serverless else args.instance_count,
            serverless=variant.get("ServerlessConfig"),
            data_capture=capture,
        ),
        shifting=shifting,
        creates_config=True,
        alarms_created=alarms.names(args.endpoint_name, args.variant_name) if args.create_alarms else (),
        alarm_states=alarm_states,
        warnings=warnings,
        variant_spec=variant,
        data_capture=capture,
        **common,
    )
    _plan_scaling(plan, serverless)
    if wanted and plan.new.instance_count is not None and not wanted.min_capacity <= plan.new.instance_count <= wanted.max_capacity:
        plan.warnings.append(
            f"the new fleet starts with {plan.new.instance_count} instance(s), outside --autoscaling-min/max "
            f"{wanted.min_capacity}-{wanted.max_capacity}: Application Auto Scaling moves it into that range"
        )
    return plan


def strategy_with_alarms(args, variant_name: str) -> Strategy:
    """The strategy the flags ask for, guarded by --alarm and the alarms --create-alarms makes."""
    planned = list(args.alarm)
    if args.create_alarms:
        planned += [a for a in alarms.names(args.endpoint_name, variant_name) if a not in planned]
    return strategy_from(args, planned)


def strategy_from(args, alarm_names: list[str]) -> Strategy:
    return Strategy(
        name=args.strategy,
        canary_size=args.canary_size,
        linear_step=args.linear_step,
        batch_size=args.batch_size,
        wait_interval=args.wait_interval,
        termination_wait=args.termination_wait,
        max_execution_timeout=args.max_execution_timeout,
        alarms=tuple(alarm_names),
    )


def check_flags(args, strategy: Strategy, serverless: bool) -> None:
    endpoint.check_name(args.endpoint_name)
    aws.check_tags(args.tag)
    if args.role_arn:
        aws.check_role_arn(args.role_arn, "the role the model runs as")
    if serverless:
        check_serverless(args.serverless_memory_mb, args.serverless_max_concurrency or 5)
    elif args.serverless_max_concurrency is not None:
        raise BadInput("--serverless-max-concurrency without --serverless-memory-mb", "pass both, or neither")
    elif args.instance_count < 1:
        raise BadInput(f"--instance-count {args.instance_count} is less than 1", "deploy at least one instance")
    if args.data_capture_uri and not args.data_capture_uri.startswith("s3://"):
        raise BadInput(f"--data-capture-uri {args.data_capture_uri!r} is not an s3:// URI", "pass s3://bucket/prefix")
    check_alarm_flags(args)
    if not 0 <= args.data_capture_percent <= 100:
        raise BadInput(f"--data-capture-percent {args.data_capture_percent} is not a percentage", "use 0-100")
    strategy.check(serverless)


def check_alarm_flags(args) -> None:
    if args.create_alarms and args.latency_threshold_ms < 1:
        raise BadInput(
            f"--latency-threshold-ms {args.latency_threshold_ms} is less than 1",
            "give the p99 model latency that should roll the deployment back, in milliseconds (default 1000)",
        )


def strategy_timeout_warning(strategy: Strategy, timeout_minutes: float) -> str | None:
    if strategy.deployment_config() and strategy.total_wait() > timeout_minutes * 60:
        return (
            f"the {strategy.name} deployment bakes {strategy.total_wait()}s, longer than --timeout "
            f"{timeout_minutes:g} min: raise --timeout or the job will stop waiting first"
        )
    return None


def check_package(package: dict) -> None:
    arn = package["ModelPackageArn"]
    status = package.get("ModelApprovalStatus")
    if status != "Approved":
        raise BadInput(
            f"model package {registry.label(package)} is {status}, not Approved",
            f"approve it first: smops approve --model-package-arn {arn}",
        )
    if not (package.get("InferenceSpecification") or {}).get("Containers"):
        raise BadInput(
            f"model package {registry.label(package)} has no inference specification",
            "register it with an InferenceSpecification (container image and model data)",
        )


def unsupported_instance_warnings(package: dict, args, serverless: bool) -> list[str]:
    supported = (package.get("InferenceSpecification") or {}).get("SupportedRealtimeInferenceInstanceTypes")
    if supported and not serverless and args.instance_type not in supported:
        return [
            f"{args.instance_type} is not among the package's supported instance types "
            f"({', '.join(supported)}); SageMaker may refuse to host it"
        ]
    return []


def require_on(sm, staging: str, arn: str) -> None:
    """Promotion guard: the package must already be InService on the staging endpoint."""
    found = endpoint.describe(sm, staging)
    if found is None:
        raise BadInput(f"promotion guard: endpoint {staging} does not exist", f"deploy to {staging} first")
    if found["EndpointStatus"] != "InService":
        raise BadInput(
            f"promotion guard: endpoint {staging} is {found['EndpointStatus']}, not InService",
            f"wait for {staging} to settle and smoke-test it first",
        )
    serving = endpoint.config_package(sm, found["EndpointConfigName"])
    if serving != arn:
        raise BadInput(
            f"promotion guard: {staging} serves {serving or 'no model package'}, not {arn}",
            f"deploy and smoke-test this package on {staging} first",
        )


def settled_endpoint(
    sm, name: str, wait_if_busy: bool, fingerprint: str | None, deadline: float, wait: bool
) -> tuple[dict | None, str | None, str | None]:
    """The endpoint to update once it can start an update, what it waits for first (a dry run
    does not wait), and the config of a deployment of these very settings already in progress."""
    current = endpoint.describe(sm, name)
    status = current["EndpointStatus"] if current else None
    if status == "Deleting":
        raise BadInput(f"endpoint {name} is being deleted", "wait for the deletion, then deploy again")
    note = ours = None
    if status in endpoint.SETTLING:
        pending = endpoint.pending(current)
        tags = config_tags(sm, pending or current["EndpointConfigName"])
        ours = pending if pending and fingerprint and tags.get(CONFIG_TAG) == fingerprint else None
        if ours:
            note = f"endpoint {name} is already deploying this package ({pending}): waiting for it"
        elif not wait_if_busy:
            raise busy(current, tags)
        else:
            note = f"{busy(current, tags).problem}: waiting for it (--wait-if-busy)"
        if not wait:
            return current, note, ours
        gha.log(note)
        current = endpoint.wait_settled(sm, name, deadline, {})
        if ours and current["EndpointConfigName"] != pending:
            raise RemoteFailure(
                f"the earlier deployment of this package to {name} did not complete: "
                f"{current.get('FailureReason') or current['EndpointStatus']}",
                f"{current['EndpointConfigName']} is serving; deploy again to retry",
            )
        note, ours = None, None
    if current and current["EndpointStatus"] in FAILED:
        raise BadInput(
            f"endpoint {name} is {current['EndpointStatus']}: {current.get('FailureReason') or 'no reason given'}",
            f"repair or delete it (aws sagemaker delete-endpoint --endpoint-name {name}), then deploy again",
        )
    return current, note, ours


def busy(found: dict, tags: dict[str, str]) -> BadInput:
    """The refusal of a change to an endpoint another change is under way on, naming that change
    (the config it deploys, with the package and run from its smops tags)."""
    name, status = found["EndpointName"], found["EndpointStatus"]
    pending = endpoint.pending(found)
    if pending:
        what = f"another deployment is in progress, of {origin(pending, tags)}"
    elif status == "Creating":
        what = f"it is being created with {origin(found['EndpointConfigName'], tags)}"
    elif status == "RollingBack":
        what = f"a deployment is rolling back to {origin(found['EndpointConfigName'], tags)}"
    else:
        what = "SageMaker is updating it"
    return BadInput(f"endpoint {name} is {status}: {what}", "wait for it to finish, or pass --wait-if-busy")


def origin(config: str, tags: dict[str, str]) -> str:
    """A config and what made it, from the tags smops puts on it: `NAME (group v5, run URL)`."""
    arn = tags.get(PACKAGE_TAG)
    if not arn and ENDPOINT_TAG not in tags:
        return f"{config} (no smops tags)"
    made_by = f"run {tags[RUN_TAG]}" if tags.get(RUN_TAG) else "not from a GitHub Actions run"
    return f"{config} ({package_label(arn) + ', ' if arn else ''}{made_by})"


def check_update(endpoint_name: str, variant_name: str, strategy: Strategy, current: dict, serverless: bool) -> None:
    """What UpdateEndpoint would refuse given what the endpoint runs now."""
    names = sorted(v["VariantName"] for v in current["ProductionVariants"])
    if names != [variant_name]:
        raise BadInput(
            f"endpoint {endpoint_name} serves variant(s) {', '.join(names)}, not {variant_name}",
            f"pass --variant-name {names[0]} (an update keeps the variant name) or deploy to a new endpoint",
        )
    if is_serverless(current) and not serverless:
        strategy.check(serverless=True)


def is_serverless(found: dict) -> bool:
    return any("CurrentServerlessConfig" in v or "DesiredServerlessConfig" in v for v in found["ProductionVariants"])


def config_tags(sm, config_name: str) -> dict[str, str]:
    config = _describe_config(sm, config_name)
    return aws.tags(sm, config["EndpointConfigArn"]) if config else {}


def serving_this(sm, old: Fleet, arn: str, fingerprint: str, role_arn: str | None) -> str | None:
    """The config the endpoint runs (`old`, as read already), when it already runs this package
    with these settings (and this role, if given); None when a deploy would change something. A
    config with smops' fingerprint has one variant, so `old`'s model is the one it serves."""
    if config_tags(sm, old.config).get(CONFIG_TAG) != fingerprint:
        return None
    if old.package_arn != arn or (role_arn and old.role != role_arn):
        return None
    return old.config


def variant_spec(args, serverless: bool) -> dict:
    if serverless:
        return {
            "VariantName": args.variant_name,
            "ServerlessConfig": {
                "MemorySizeInMB": args.serverless_memory_mb,
                "MaxConcurrency": args.serverless_max_concurrency or 5,
            },
        }
    return {
        "VariantName": args.variant_name,
        "InstanceType": args.instance_type,
        "InitialInstanceCount": args.instance_count,
        "InitialVariantWeight": 1.0,
    }


def data_capture_config(args) -> dict | None:
    if not args.data_capture_uri:
        return None
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": args.data_capture_percent,
        "DestinationS3Uri": args.data_capture_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }


def fingerprint(arn: str, variant: dict, data_capture: dict | None) -> str:
    """What makes two deploys the same: the package and the hosting settings."""
    body = json.dumps({"package": arn, "variant": variant, "capture": data_capture}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def resource_name(endpoint_name: str, package: dict) -> str:
    """<endpoint>-v<version>-<UTC time to the millisecond>, cut to SageMaker's 63 characters."""
    now = datetime.now(timezone.utc)
    version = package.get("ModelPackageVersion")
    suffix = (f"-v{version}" if version else "") + f"-{now:%y%m%d%H%M%S}{now.microsecond // 1000:03d}"
    return endpoint_name[: NAME_MAX - len(suffix)].rstrip("-") + suffix


# -- rollback --------------------------------------------------------------------------------------


def for_rollback(args, sm, cw, aas, deadline: float, wait: bool) -> Plan:
    """The plan of `smops rollback`: back to an earlier config of the endpoint's history."""
    endpoint.check_name(args.endpoint_name)
    check_alarm_flags(args)
    if args.to_version is not None and args.to_config:
        raise BadInput("both --to-version and --to-config given", "pass one of them, or neither for the previous config")
    current, waits_for, _ = settled_endpoint(sm, args.endpoint_name, args.wait_if_busy, None, deadline, wait)
    if current is None:
        raise BadInput(f"endpoint {args.endpoint_name} does not exist", "there is nothing to roll back")
    served = history.read(sm, current["EndpointArn"])
    target = rollback_target(args, served, current["EndpointConfigName"])
    variant_name = current["ProductionVariants"][0]["VariantName"]
    new, package = fleet_of_config(sm, target, variant_name, served)
    target_serverless = new.serverless is not None
    strategy = strategy_with_alarms(args, variant_name)
    strategy.check(target_serverless or is_serverless(current))
    check_update(args.endpoint_name, new.variant, strategy, current, target_serverless)
    alarm_states = alarms.states(cw, list(strategy.alarms))
    alarms.check_exist(alarm_states, list(args.alarm))
    old = fleet_of_endpoint(sm, current)
    unchanged = target == current["EndpointConfigName"]
    shifting = not unchanged and not target_serverless and not is_serverless(current)
    before = scaling.current(aas, args.endpoint_name, variant_name)
    warning = strategy_timeout_warning(strategy, args.timeout)
    plan = Plan(
        command="rollback",
        endpoint_name=args.endpoint_name,
        action="unchanged" if unchanged else "updated",
        new=new,
        old=old,
        current=current,
        package=package,
        strategy=strategy,
        shifting=shifting,
        creates_config=False,
        alarms_created=alarms.names(args.endpoint_name, variant_name) if args.create_alarms else (),
        alarm_states=alarm_states,
        warnings=([warning] if warning else []) + (fallback_warnings(strategy, new.instance_type or "") if shifting else []),
        scaling_before=before,
        scaling_after=before,
        waits_for=waits_for,
    )
    if not unchanged:
        _plan_scaling(plan, target_serverless)
    return plan


def rollback_target(args, served: list[history.Entry], serving: str) -> str:
    """The config to return to: --to-config, the newest of --to-version, or the previous one."""
    if args.to_config:
        return args.to_config
    known = ", ".join(e.label() for e in served) or "none"
    if args.to_version is not None:
        entry = next((e for e in reversed(served) if e.version == args.to_version), None)
        if entry is None:
            raise BadInput(
                f"model package version {args.to_version} is not in the history of {args.endpoint_name} ({known})",
                "pick a version the history holds, or name a config with --to-config",
            )
        return entry.config
    entry = history.previous(served, serving)
    if entry is None:
        raise BadInput(
            f"{args.endpoint_name} has no earlier config in the history smops keeps in its tags ({known})",
            "name the config to return to with --to-config",
        )
    return entry.config


def _package(sm, arn: str | None) -> dict | None:
    if not arn:
        return None
    try:
        return sm.describe_model_package(ModelPackageName=arn)
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc) or aws.error_code(exc) == "ValidationException":
            return None
        raise


# -- fleets ----------------------------------------------------------------------------------------


def package_label(arn: str) -> str:
    """group v3, from a package ARN (…:model-package/group/3)."""
    path = arn.split(":model-package/", 1)[-1]
    group, _, version = path.rpartition("/")
    return f"{group} v{version}" if group and version.isdigit() else arn


def fleet_of_endpoint(sm, current: dict) -> Fleet:
    """What serves now: the config's settings, the live instance count."""
    name = current["EndpointConfigName"]
    live = current["ProductionVariants"][0]
    config = _describe_config(sm, name)
    fleet = _fleet(sm, name, config, live["VariantName"])[0] if config else Fleet(name, None, None, None, live["VariantName"])
    count = live.get("DesiredInstanceCount", live.get("CurrentInstanceCount"))
    serverless = live.get("CurrentServerlessConfig") or live.get("DesiredServerlessConfig") or fleet.serverless
    capture = fleet.data_capture if config else current.get("DataCaptureConfig")
    return dataclasses.replace(
        fleet,
        instance_count=None if serverless else count,
        serverless=serverless,
        data_capture=capture,
        configured_count=fleet.instance_count,
    )


def fleet_of_config(sm, name: str, variant_name: str, served: list[history.Entry] = ()) -> tuple[Fleet, dict | None]:
    """An existing config to serve again, and the package it serves (described); refused when
    it, or its model, no longer exists."""
    config = _describe_config(sm, name)
    entry = next((e for e in reversed(served) if e.config == name), None)
    what = f"endpoint config {name}" + (
        f" (history entry #{entry.number}" + (f", v{entry.version})" if entry.version else ")") if entry else ""
    )
    if config is None:
        raise BadInput(
            f"{what} no longer exists (smops cleanup, or someone, deleted it)",
            "roll back to another config of the history (--to-version/--to-config); `smops cleanup "
            "--keep N` keeps the N newest",
        )
    models = {}
    for variant in config["ProductionVariants"]:
        models[variant["ModelName"]] = _describe_model(sm, variant["ModelName"])
        if models[variant["ModelName"]] is None:
            raise BadInput(
                f"model {variant['ModelName']} of {what} no longer exists (smops cleanup, or someone, deleted it)",
                "roll back to another config of the history, or deploy the package again with smops deploy",
            )
    return _fleet(sm, name, config, variant_name, models)


def _fleet(sm, name: str, config: dict, variant_name: str, models: dict | None = None) -> tuple[Fleet, dict | None]:
    """The fleet a config describes, and its package (described); `models`: those described already."""
    variants = config.get("ProductionVariants") or []
    variant = next((v for v in variants if v["VariantName"] == variant_name), variants[0] if variants else {})
    model_name = variant.get("ModelName")
    model = (models or {}).get(model_name) or (_describe_model(sm, model_name) if model_name else None)
    package = _package(sm, endpoint.model_package(model))
    fleet = Fleet(
        config=name,
        package_arn=endpoint.model_package(model),
        package_name=registry.label(package) if package else None,
        model=variant.get("ModelName"),
        role=model.get("ExecutionRoleArn") if model else None,
        variant=variant.get("VariantName", variant_name),
        instance_type=variant.get("InstanceType"),
        instance_count=variant.get("InitialInstanceCount"),
        serverless=variant.get("ServerlessConfig"),
        data_capture=config.get("DataCaptureConfig"),
    )
    return fleet, package


def _describe_config(sm, name: str) -> dict | None:
    return aws.found(sm.describe_endpoint_config, EndpointConfigName=name)


def _describe_model(sm, name: str) -> dict | None:
    return aws.found(sm.describe_model, ModelName=name)


# -- autoscaling -----------------------------------------------------------------------------------


def _scaling_after(before: scaling.Registration | None, wanted: scaling.Scaling | None) -> scaling.Registration | None:
    """The registration after the command: the flags' (other policies kept), or the one there was."""
    if wanted is None:
        return before
    ours = wanted.policy()
    others = tuple(p for p in (before.policies if before else ()) if p["PolicyName"] != ours["PolicyName"])
    return scaling.Registration(wanted.min_capacity, wanted.max_capacity, others + (ours,), before.suspended if before else None)


def _plan_scaling(plan: Plan, serverless: bool) -> None:
    """An update of a registered variant keeps its live capacity and, for a new instance type,
    is deregistered around the update (what AWS requires)."""
    before = plan.scaling_before
    if plan.action != "updated" or before is None:
        return
    if serverless:
        raise BadInput(
            f"variant {plan.new.variant} of {plan.endpoint_name} is registered for automatic scaling, "
            "which a serverless variant cannot take",
            f"deregister it first (aws application-autoscaling deregister-scalable-target --service-namespace "
            f"sagemaker --scalable-dimension {scaling.DIMENSION} --resource-id "
            f"{scaling.resource_id(plan.endpoint_name, plan.new.variant)}), or deploy on instances",
        )
    plan.retain_instances = True
    live = plan.old.instance_count if plan.old else None
    if live is not None:
        plan.new = dataclasses.replace(plan.new, instance_count=live, configured_count=plan.new.instance_count)
    old_type = plan.old.instance_type if plan.old else None
    plan.suspend_scaling = old_type is None or old_type != plan.new.instance_type
