"""`smops deploy`: an Approved model package to an endpoint, blue/green with automatic rollback.

Every decision, and every check that can refuse, is made first by `smops.plan` (which `--dry-run`
shows, with `smops.plan_report`, instead of acting on it), so a refusal (exit 2) never leaves anything behind. Then the new
Model and EndpointConfig are created, and the endpoint is created, or updated through the guarded
path `smops rollback` shares (`update`): rollback alarms, the DeploymentConfig, autoscaling kept,
the wait, and the outcome read back from SageMaker: an update it rolled back fails the job,
saying which config still serves.
"""

from __future__ import annotations

import time

import botocore.exceptions

from smops import alarms, aws, endpoint, gha, history, pictures, plan_report, registry, scaling
from smops import plan as planning
from smops.errors import BadInput, RemoteFailure, TimedOut
from smops.plan import CONFIG_TAG, ENDPOINT_TAG, Plan
from smops.strategy import DEFAULT_UPDATE, Strategy
from smops.waiting import duration

def run(args) -> dict[str, str]:
    return execute(args, planning.for_deploy, _deploy)


def execute(args, make_plan, act) -> dict[str, str]:
    """Plan, then show the plan (--dry-run) or act on it: what deploy and rollback share."""
    started = time.monotonic()
    deadline = started + args.timeout * 60
    sm, cw, aas = (aws.client(s, args.region, args.profile) for s in ("sagemaker", "cloudwatch", "application-autoscaling"))
    try:
        plan = make_plan(args, sm, cw, aas, deadline, wait=not args.dry_run)
    except BadInput as exc:
        if args.dry_run:
            plan_report.refused(args.command, args.endpoint_name, exc)
        raise
    if args.dry_run:
        return plan_report.show(plan)
    for warning in plan.warnings:
        gha.warning(warning, title="deployment guardrails")
    return act(args, plan, sm, cw, aas, started, deadline)


def _deploy(args, plan: Plan, sm, cw, aas, started: float, deadline: float) -> dict[str, str]:
    arn = plan.new.package_arn
    outputs = {"endpoint-name": args.endpoint_name, "model-package-arn": arn}
    if plan.action == "unchanged":
        outputs.update(
            {
                "endpoint-arn": plan.current["EndpointArn"],
                "endpoint-config-name": plan.config_name,
                "model-name": plan.new.model,
                "action": "unchanged",
            }
        )
        gha.log(f"{args.endpoint_name} already serves {registry.label(plan.package)}: nothing to do")
        _finish(sm, aas, plan, succeeded=True)
        gha.add_summary(_summary(args, plan.package, plan, plan.current, None, "unchanged", started, []))
        return outputs

    # -- from here on, resources are created -------------------------------------------------
    tags = provenance(args, arn) + [{"Key": k, "Value": v} for k, v in args.tag]
    name = plan.config_name
    try:
        _create_model_and_config(sm, name, plan.new.role, arn, plan.variant_spec, plan.data_capture, tags, plan.fingerprint)
        outputs.update({"model-name": name, "endpoint-config-name": name})
        gha.log(f"created model and endpoint config {name} for {registry.label(plan.package)}")
        if plan.current is None:
            if args.create_alarms:
                alarms.create(cw, args.endpoint_name, args.variant_name, args.latency_threshold_ms, tags)
            response = sm.create_endpoint(EndpointName=args.endpoint_name, EndpointConfigName=name, Tags=tags)
            gha.log(f"creating endpoint {args.endpoint_name}")
    except aws.ERRORS as exc:
        response = _went_through(sm, exc, args.endpoint_name, name, outputs, called="model-name" in outputs)
    if plan.current is not None:
        return update(args, plan, sm, cw, aas, outputs, started, deadline, tags)

    outputs.update({"endpoint-arn": response["EndpointArn"], "action": "created"})
    final = endpoint.wait_settled(sm, args.endpoint_name, deadline, outputs)
    outcome = _outcome(final, name, cw, plan.strategy)
    gha.add_summary(_summary(args, plan.package, plan, None, name, outcome or "created", started, plan.warnings))
    if outcome:
        raise RemoteFailure(outcome, _after_failure(sm, final, name, None, created=True), outputs=outputs)
    _finish(sm, aas, plan, succeeded=True, endpoint_arn=response["EndpointArn"])
    gha.log(f"endpoint {args.endpoint_name} InService with {name} (created) in {duration(time.monotonic() - started)}")
    return outputs


def update(args, plan: Plan, sm, cw, aas, outputs: dict, started: float, deadline: float, tags: list[dict]) -> dict:
    """The guarded update path deploy and rollback share: rollback alarms, UpdateEndpoint with the
    plan's DeploymentConfig (and RetainAllVariantProperties for a scaled variant), autoscaling
    deregistered around an instance-type change, the wait, and the outcome read back."""
    name, current = plan.config_name, plan.current
    history.record(sm, current["EndpointArn"], current["EndpointConfigName"], plan.old.package_arn if plan.old else None)
    suspended = False
    try:
        if args.create_alarms:
            alarms.create(cw, args.endpoint_name, plan.new.variant, args.latency_threshold_ms, tags)
        if plan.suspend_scaling:
            scaling.suspend(aas, args.endpoint_name, plan.new.variant, plan.scaling_before)
            suspended = True
            gha.log(f"deregistered {plan.new.variant} from autoscaling for the instance-type change; it comes back after")
        response = sm.update_endpoint(**plan.update_request())
    except aws.ERRORS as exc:
        try:
            response = _went_through(sm, exc, args.endpoint_name, name, outputs, called=True, made=plan.creates_config)
        except RemoteFailure:
            if suspended:
                scaling.apply(aas, args.endpoint_name, plan.new.variant, plan.scaling_before)
            raise
    how = plan.strategy.describe() if plan.deployment_config() else DEFAULT_UPDATE
    gha.log(f"updating endpoint {args.endpoint_name}: {current['EndpointConfigName']} -> {name} ({how})")
    outputs.update({"endpoint-arn": response["EndpointArn"], "action": "updated"})
    try:
        final = endpoint.wait_settled(sm, args.endpoint_name, deadline, outputs)
    except TimedOut as exc:
        if suspended:
            exc.fix += "; " + scaling.restore_hint(args.endpoint_name, plan.new.variant, plan.scaling_before)
        raise
    outcome = _outcome(final, name, cw, plan.strategy)
    _finish(sm, aas, plan, succeeded=not outcome, endpoint_arn=response["EndpointArn"])
    gha.add_summary(_summary(args, plan.package, plan, current, name, outcome or "updated", started, plan.warnings))
    if outcome:
        raise RemoteFailure(outcome, _after_failure(sm, final, name, current, created=plan.creates_config), outputs=outputs)
    gha.log(f"endpoint {args.endpoint_name} InService with {name} (updated) in {duration(time.monotonic() - started)}")
    return outputs


def _finish(sm, aas, plan: Plan, succeeded: bool, endpoint_arn: str | None = None) -> None:
    """After the endpoint settled: the scaling it should have (the plan's when the new config
    serves, the one before when a suspended registration must come back), and the history."""
    variant = plan.new.variant
    if succeeded and plan.scaling_after and (plan.suspend_scaling or plan.scaling_changes()):
        scaling.apply(aas, plan.endpoint_name, variant, plan.scaling_after)
        gha.log(f"autoscaling of {plan.endpoint_name}/{variant}: {plan.scaling_after.describe()}")
    elif not succeeded and plan.suspend_scaling:
        scaling.apply(aas, plan.endpoint_name, variant, plan.scaling_before)
        gha.log(f"autoscaling of {plan.endpoint_name}/{variant} restored: {plan.scaling_before.describe()}")
    if succeeded:
        history.record(sm, endpoint_arn or plan.current["EndpointArn"], plan.config_name, plan.new.package_arn)


def _went_through(sm, exc: Exception, endpoint_name: str, name: str, outputs: dict, called: bool, made: bool = True) -> dict:
    """After a failed call, the endpoint when it is deploying `name` all the same (the answer to
    CreateEndpoint or UpdateEndpoint was lost and botocore's retry was refused); otherwise the
    failure, saying what is left behind. `called`: the endpoint call was made; `made`: this run
    created the model and config `name`."""
    failed = aws.describe_error(exc, endpoint_name)
    denied = aws.access_denied(exc) if isinstance(exc, botocore.exceptions.ClientError) else None
    unchanged = (f"{denied[1]}; " if denied else "") + "the endpoint itself was not changed"
    if made:
        unchanged += f"; `smops cleanup --endpoint-name {endpoint_name}` removes what was made of {name}"
    if not called:
        raise RemoteFailure(failed, unchanged, outputs=outputs) from exc
    try:
        found = endpoint.describe(sm, endpoint_name)
    except aws.ERRORS:
        raise RemoteFailure(
            f"{failed}, and the endpoint could not be read back",
            f"it may be deploying {name}: check `aws sagemaker describe-endpoint --endpoint-name "
            f"{endpoint_name}` before deploying again",
            outputs=outputs,
        ) from exc
    pending = ((found or {}).get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if not found or name not in {found["EndpointConfigName"], pending}:
        raise RemoteFailure(failed, unchanged, outputs=outputs) from exc
    gha.warning(f"{failed}; yet {endpoint_name} is deploying {name}: the request went through, waiting for it")
    return found


def provenance(args, package_arn: str | None) -> list[dict]:
    tags = aws.provenance_tags(model_package_arn=package_arn, environment=args.environment)
    return tags + [{"Key": ENDPOINT_TAG, "Value": args.endpoint_name}]


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


def _after_failure(sm, final: dict, new_config: str, current: dict | None, created: bool) -> str:
    """Where things stand now: what serves, what was left unused, where to look."""
    region = sm.meta.region_name
    link = aws.console_url(region, f"endpoints/{final['EndpointName']}")
    if current and final["EndpointStatus"] == "InService":
        unused = f" (`smops cleanup --endpoint-name {final['EndpointName']}` removes it)" if created else ""
        return f"the previous config {final['EndpointConfigName']} is still serving; {new_config} was not kept{unused}; see {link}"
    logs = f"the log group /aws/sagemaker/Endpoints/{final['EndpointName']}"
    if current and final["EndpointStatus"] == "UpdateRollbackFailed":
        # SageMaker's own words: in service with a mix of the old and new endpoint configurations.
        return (
            f"it now serves a mix of {current['EndpointConfigName']} and {new_config}: update it to the "
            f"config that worked (`aws sagemaker update-endpoint --endpoint-name {final['EndpointName']} "
            f"--endpoint-config-name {current['EndpointConfigName']}`); see {link} and {logs}"
        )
    return f"nothing is serving from {new_config}; see {link} and {logs}"


def _summary(args, package, plan: Plan, current, new_config, outcome, started, warnings) -> str:
    s3 = aws.client("s3", args.region, args.profile)
    old = current["EndpointConfigName"] if current else "(new endpoint)"
    rows = [
        ["Environment", args.environment or "—"],
        ["Endpoint", f"`{args.endpoint_name}`"],
        ["Strategy", plan.strategy.describe() if current and new_config else ("create" if new_config else "—")],
        ["Config", f"`{old}` → `{new_config}`" if new_config else f"`{old}` (unchanged)"],
        ["Duration", duration(time.monotonic() - started)],
        ["Outcome", outcome],
    ]
    icon = "✅" if outcome in {"created", "updated", "unchanged"} else "❌"
    lines = [f"### smops {args.command}: `{args.endpoint_name}` {icon} {outcome}", "", gha.table(["", ""], rows)]
    if new_config:
        lines += ["", pictures.traffic_shift(plan, outcome, time.monotonic() - started)]
    if package:
        lines += ["", registry.summary_lines(package, s3)]
    lines += [f"\n> ⚠️ {w}" for w in warnings]
    return "\n".join(lines)
