"""`smops deploy`: an Approved model package to an endpoint, blue/green with automatic rollback.

Every check that can refuse happens before the first resource is created, so a refusal (exit 2)
never leaves anything behind. After that, the new Model and EndpointConfig are created, the
endpoint is created or updated, and the outcome is read back from SageMaker: an update it rolled
back fails the job, saying which config still serves.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime, timezone

import botocore.exceptions

from smops import alarms, aws, endpoint, gha, registry
from smops.errors import BadInput, RemoteFailure, TimedOut
from smops.strategy import Strategy, check_serverless, fallback_warnings
from smops.waiting import duration

CONFIG_TAG = "smops:config-sha256"
ENDPOINT_TAG = "smops:endpoint"
NAME_MAX = 63


def run(args) -> dict[str, str]:
    started = time.monotonic()
    deadline = started + args.timeout * 60
    serverless = args.serverless_memory_mb is not None
    strategy = _strategy(args)
    _check_flags(args, strategy, serverless)
    sm = aws.client("sagemaker", args.region, args.profile)
    cw = aws.client("cloudwatch", args.region, args.profile)

    package = registry.resolve(sm, args.model_package_arn, args.model_package_group, "Approved")
    _check_package(package)
    arn = package["ModelPackageArn"]
    if args.require_on_endpoint:
        _require_on(sm, args.require_on_endpoint, arn)
    variant = _variant(args, serverless)
    data_capture = _data_capture(args)
    fingerprint = _fingerprint(arn, variant, data_capture)
    current = _settled_endpoint(sm, args, fingerprint, deadline)
    outputs = {"endpoint-name": args.endpoint_name, "model-package-arn": arn}

    serving = _serving_this(sm, current, arn, fingerprint, args.role_arn) if current else None
    if serving:
        outputs.update(
            {
                "endpoint-arn": current["EndpointArn"],
                "endpoint-config-name": current["EndpointConfigName"],
                "model-name": serving["ModelName"],
                "action": "unchanged",
            }
        )
        gha.log(f"{args.endpoint_name} already serves {registry.label(package)}: nothing to do")
        gha.add_summary(_summary(args, package, strategy, current, None, "unchanged", started, []))
        return outputs
    if not args.role_arn:
        raise BadInput("no --role-arn given", "pass the IAM role the model runs as (role-arn input)")
    shifting = bool(current) and not serverless and not _is_serverless(current)
    if current:
        _check_update(args, strategy, current, serverless)
    alarms.check_exist(cw, list(args.alarm))
    warnings = fallback_warnings(strategy, args.instance_type) if shifting else []
    for warning in warnings:
        gha.warning(warning, title="deployment guardrails")
    _warn_unsupported_instance(package, args, serverless)

    # -- from here on, resources are created -------------------------------------------------
    tags = aws.provenance_tags(model_package_arn=arn, environment=args.environment)
    tags += [{"Key": ENDPOINT_TAG, "Value": args.endpoint_name}]
    tags += [{"Key": k, "Value": v} for k, v in args.tag]
    name = resource_name(args.endpoint_name, package)
    try:
        if args.create_alarms:
            alarms.create(cw, args.endpoint_name, args.variant_name, args.latency_threshold_ms, tags)
        _create_model_and_config(sm, name, args.role_arn, arn, variant, data_capture, tags, fingerprint)
        outputs.update({"model-name": name, "endpoint-config-name": name})
        gha.log(f"created model and endpoint config {name} for {registry.label(package)}")
        if current is None:
            action = "created"
            response = sm.create_endpoint(EndpointName=args.endpoint_name, EndpointConfigName=name, Tags=tags)
            gha.log(f"creating endpoint {args.endpoint_name}")
        else:
            action = "updated"
            request = {"EndpointName": args.endpoint_name, "EndpointConfigName": name}
            config = strategy.deployment_config() if shifting else None
            if config:
                request["DeploymentConfig"] = config
            response = sm.update_endpoint(**request)
            how = strategy.describe() if config else "SageMaker's default blue/green, all at once"
            gha.log(f"updating endpoint {args.endpoint_name}: {current['EndpointConfigName']} -> {name} ({how})")
    except botocore.exceptions.ClientError as exc:
        problem, grant = aws.access_denied(exc) or (aws.error_message(exc), "")
        raise RemoteFailure(
            f"AWS refused {exc.operation_name} for {args.endpoint_name}: {problem}",
            (f"{grant}; " if grant else "")
            + "the endpoint itself was not changed"
            + (f"; `smops cleanup --endpoint-name {args.endpoint_name}` removes the unused {name}" if "model-name" in outputs else ""),
            outputs=outputs,
        ) from exc
    outputs.update({"endpoint-arn": response["EndpointArn"], "action": action})

    final = _wait(sm, args.endpoint_name, deadline, outputs)
    outcome = _outcome(final, name, cw, strategy)
    gha.add_summary(_summary(args, package, strategy, current, name, outcome or action, started, warnings))
    if outcome:
        raise RemoteFailure(outcome, _after_failure(sm, final, name, current), outputs=outputs)
    gha.log(f"endpoint {args.endpoint_name} InService with {name} ({action}) in {duration(time.monotonic() - started)}")
    return outputs


def _create_model_and_config(sm, name, role_arn, package_arn, variant, data_capture, tags, fingerprint) -> None:
    """The Model, then its EndpointConfig; a Model whose config could not be made is deleted."""
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=role_arn,
        PrimaryContainer={"ModelPackageName": package_arn},
        Tags=tags,
    )
    request = {
        "EndpointConfigName": name,
        "ProductionVariants": [{**variant, "ModelName": name}],
        "Tags": tags + [{"Key": CONFIG_TAG, "Value": fingerprint}],
    }
    if data_capture:
        request["DataCaptureConfig"] = data_capture
    try:
        sm.create_endpoint_config(**request)
    except botocore.exceptions.ClientError:
        sm.delete_model(ModelName=name)
        raise


def _wait(sm, endpoint_name: str, deadline: float, outputs: dict) -> dict:
    with gha.group(f"Wait for endpoint {endpoint_name}"):
        try:
            return endpoint.wait(sm, endpoint_name, max(deadline - time.monotonic(), 0))
        except TimedOut as exc:
            exc.fix = (
                f"the deployment goes on in SageMaker; watch it with "
                f"`aws sagemaker describe-endpoint --endpoint-name {endpoint_name}`, "
                "or re-run this deploy to wait for it again"
            )
            exc.outputs = outputs
            raise


# -- checks before any change ---------------------------------------------------------------------


def _strategy(args) -> Strategy:
    planned = list(args.alarm)
    if args.create_alarms:
        planned += [a for a in alarms.names(args.endpoint_name, args.variant_name) if a not in planned]
    return Strategy(
        name=args.strategy,
        canary_size=args.canary_size,
        linear_step=args.linear_step,
        batch_size=args.batch_size,
        wait_interval=args.wait_interval,
        termination_wait=args.termination_wait,
        max_execution_timeout=args.max_execution_timeout,
        alarms=tuple(planned),
    )


def _check_flags(args, strategy: Strategy, serverless: bool) -> None:
    if not re.match(endpoint.NAME_PATTERN, args.endpoint_name):
        raise BadInput(
            f"endpoint name {args.endpoint_name!r} is not valid",
            "use up to 63 letters, digits and hyphens, starting with a letter or digit",
        )
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
    if not 0 <= args.data_capture_percent <= 100:
        raise BadInput(f"--data-capture-percent {args.data_capture_percent} is not a percentage", "use 0-100")
    strategy.check(serverless)
    if strategy.deployment_config() and strategy.total_wait() > args.timeout * 60:
        gha.warning(
            f"the {strategy.name} deployment bakes {strategy.total_wait()}s, longer than --timeout "
            f"{args.timeout:g} min: raise --timeout or the job will stop waiting first"
        )


def _check_package(package: dict) -> None:
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


def _warn_unsupported_instance(package: dict, args, serverless: bool) -> None:
    supported = (package.get("InferenceSpecification") or {}).get("SupportedRealtimeInferenceInstanceTypes")
    if supported and not serverless and args.instance_type not in supported:
        gha.warning(
            f"{args.instance_type} is not among the package's supported instance types "
            f"({', '.join(supported)}); SageMaker may refuse to host it"
        )


def _require_on(sm, staging: str, arn: str) -> None:
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


def _settled_endpoint(sm, args, fingerprint: str, deadline: float) -> dict | None:
    """The endpoint to update, once it is in a state an update can start from."""
    current = endpoint.describe(sm, args.endpoint_name)
    status = current["EndpointStatus"] if current else None
    if status == "Deleting":
        raise BadInput(f"endpoint {args.endpoint_name} is being deleted", "wait for the deletion, then deploy again")
    if status in endpoint.SETTLING:
        pending = (current.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        ours = pending and _config_tags(sm, pending).get(CONFIG_TAG) == fingerprint
        if ours:
            gha.log(f"endpoint {args.endpoint_name} is already deploying this package ({pending}): waiting for it")
        elif not args.wait_if_busy:
            raise BadInput(
                f"endpoint {args.endpoint_name} is {status}: another deployment is in progress",
                "wait for it to finish, or pass --wait-if-busy",
            )
        else:
            gha.log(f"endpoint {args.endpoint_name} is {status}: waiting for it (--wait-if-busy)")
        current = _wait(sm, args.endpoint_name, deadline, {})
        if ours and current["EndpointConfigName"] != pending:
            raise RemoteFailure(
                f"the earlier deployment of this package to {args.endpoint_name} did not complete: "
                f"{current.get('FailureReason') or current['EndpointStatus']}",
                f"{current['EndpointConfigName']} is serving; deploy again to retry",
            )
    if current and current["EndpointStatus"] in {"Failed", "UpdateRollbackFailed", "OutOfService"}:
        raise BadInput(
            f"endpoint {args.endpoint_name} is {current['EndpointStatus']}: "
            f"{current.get('FailureReason') or 'no reason given'}",
            f"repair or delete it (aws sagemaker delete-endpoint --endpoint-name {args.endpoint_name}), then deploy again",
        )
    return current


def _check_update(args, strategy: Strategy, current: dict, serverless: bool) -> None:
    """What UpdateEndpoint would refuse given what the endpoint runs now."""
    names = sorted(v["VariantName"] for v in current["ProductionVariants"])
    if names != [args.variant_name]:
        raise BadInput(
            f"endpoint {args.endpoint_name} serves variant(s) {', '.join(names)}, not {args.variant_name}",
            f"pass --variant-name {names[0]} (an update keeps the variant name) or deploy to a new endpoint",
        )
    if _is_serverless(current) and not serverless:
        strategy.check(serverless=True)


def _is_serverless(found: dict) -> bool:
    return any("CurrentServerlessConfig" in v or "DesiredServerlessConfig" in v for v in found["ProductionVariants"])


def _config_tags(sm, config_name: str) -> dict[str, str]:
    try:
        config_arn = sm.describe_endpoint_config(EndpointConfigName=config_name)["EndpointConfigArn"]
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc):
            return {}
        raise
    return aws.tags(sm, config_arn)


def _serving_this(sm, current: dict, arn: str, fingerprint: str, role_arn: str | None) -> dict | None:
    """The Model the endpoint runs, when it already runs this package with these settings (and
    this role, if given); None when a deploy would change something."""
    config_name = current["EndpointConfigName"]
    if _config_tags(sm, config_name).get(CONFIG_TAG) != fingerprint:
        return None
    model = endpoint.serving_model(sm, config_name)
    if endpoint.model_package(model) != arn or (role_arn and model.get("ExecutionRoleArn") != role_arn):
        return None
    return model


# -- what gets created ----------------------------------------------------------------------------


def _variant(args, serverless: bool) -> dict:
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


def _data_capture(args) -> dict | None:
    if not args.data_capture_uri:
        return None
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": args.data_capture_percent,
        "DestinationS3Uri": args.data_capture_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }


def _fingerprint(arn: str, variant: dict, data_capture: dict | None) -> str:
    """What makes two deploys the same: the package and the hosting settings."""
    body = json.dumps({"package": arn, "variant": variant, "capture": data_capture}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def resource_name(endpoint_name: str, package: dict) -> str:
    """<endpoint>-v<version>-<UTC time to the millisecond>, cut to SageMaker's 63 characters."""
    now = datetime.now(timezone.utc)
    version = package.get("ModelPackageVersion")
    suffix = (f"-v{version}" if version else "") + f"-{now:%y%m%d%H%M%S}{now.microsecond // 1000:03d}"
    return endpoint_name[: NAME_MAX - len(suffix)].rstrip("-") + suffix


# -- reading the outcome --------------------------------------------------------------------------


def _outcome(final: dict, new_config: str, cw, strategy: Strategy) -> str | None:
    """None when the endpoint serves the new config; otherwise what went wrong, in one line."""
    status = final["EndpointStatus"]
    name = final["EndpointName"]
    if status == "InService" and final["EndpointConfigName"] == new_config:
        return None
    reason = final.get("FailureReason")
    if status == "InService":
        tripped = alarms.in_alarm(cw, list(strategy.alarms))
        because = reason or (f"alarm {'; '.join(tripped)}" if tripped else "SageMaker rolled it back")
        return f"deployment to {name} was rolled back: {because}"
    if status == "UpdateRollbackFailed":
        return f"deployment to {name} failed and so did its rollback: {reason or 'no reason given'}"
    return f"endpoint {name} is {status}: {reason or 'no reason given'}"


def _after_failure(sm, final: dict, new_config: str, current: dict | None) -> str:
    """Where things stand now: what serves, what was left unused, where to look."""
    region = sm.meta.region_name
    link = aws.console_url(region, f"endpoints/{final['EndpointName']}")
    if current and final["EndpointStatus"] == "InService":
        return (
            f"the previous config {final['EndpointConfigName']} is still serving; {new_config} was not "
            f"kept (`smops cleanup --endpoint-name {final['EndpointName']}` removes it); see {link}"
        )
    return f"nothing is serving from {new_config}; see {link} and the log group /aws/sagemaker/Endpoints/{final['EndpointName']}"


def _summary(args, package, strategy, current, new_config, outcome, started, warnings) -> str:
    s3 = aws.client("s3", args.region, args.profile)
    old = current["EndpointConfigName"] if current else "(new endpoint)"
    rows = [
        ["Environment", args.environment or "—"],
        ["Endpoint", f"`{args.endpoint_name}`"],
        ["Strategy", strategy.describe() if current and new_config else ("create" if new_config else "—")],
        ["Config", f"`{old}` → `{new_config}`" if new_config else f"`{old}` (unchanged)"],
        ["Duration", duration(time.monotonic() - started)],
        ["Outcome", outcome],
    ]
    icon = "✅" if outcome in {"created", "updated", "unchanged"} else "❌"
    lines = [f"### smops deploy: `{args.endpoint_name}` {icon} {outcome}", "", gha.table(["", ""], rows)]
    lines += ["", registry.summary_lines(package, s3)]
    lines += [f"\n> ⚠️ {w}" for w in warnings]
    return "\n".join(lines)
