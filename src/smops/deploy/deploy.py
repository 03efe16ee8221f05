"""`smops deploy`: an Approved model package to an endpoint, blue/green with automatic rollback.

Every decision, and every check that can refuse, is made first by `smops.deploy.plan` (which `--dry-run`
shows, with `smops.deploy.plan_report`, instead of acting on it), so a refusal (exit 2) never leaves anything behind. Then the new
Model and EndpointConfig are created, and the endpoint is created, or updated through the guarded
path `smops rollback` shares (`update`): rollback alarms, the DeploymentConfig, autoscaling kept,
the wait, and the outcome read back from SageMaker: an update it rolled back fails the job,
saying which config still serves.

Another hand on the same endpoint (a deploy from a laptop, a rollback, a second workflow) is told
apart from SageMaker's own doing by the endpoint's record: the config it serves and the one an
update in progress deploys (PendingDeploymentSummary), as seen at each poll, the history smops
keeps in the endpoint's tags, and the smops tags of each config (which package, which run):
- an update that another change started before this one could (UpdateEndpoint refused: "Cannot
  update in-progress endpoint") is refused, exit 2, naming that change, and what this run made
  for it is removed; with --wait-if-busy it waits for that change to end and decides again;
- an update that completed and was then replaced by another config is done (exit 0), with a
  warning naming what replaced it;
- only an update that never served and went back to the config before it was rolled back by
  SageMaker (exit 1).
"""

from __future__ import annotations

import time

import botocore.exceptions

from smops import aws, endpoint, gha, registry
from smops.deploy import alarms, history, plan_report, scaling, traffic_picture
from smops.deploy import plan as planning
from smops.deploy.plan import CONFIG_TAG, ENDPOINT_TAG, Plan, config_tags, origin
from smops.deploy.strategy import DEFAULT_UPDATE, Strategy
from smops.errors import BadInput, RemoteFailure, TimedOut
from smops.waiting import duration


class Busy(BadInput):
    """The endpoint call was refused: another change to the endpoint began after the plan read it.
    What this run made for it is removed first, so nothing is left changed."""


def run(args) -> dict[str, str]:
    return execute(args, planning.for_deploy, _deploy)


def execute(args, make_plan, act) -> dict[str, str]:
    """Plan, then show the plan (--dry-run) or act on it: what deploy and rollback share. With
    --wait-if-busy, a change that another hand began first is waited for, and the plan made again."""
    started = time.monotonic()
    deadline = started + args.timeout * 60
    sm, cw, aas = (aws.client(s, args.region, args.profile) for s in ("sagemaker", "cloudwatch", "application-autoscaling"))
    while True:
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
        try:
            return act(args, plan, sm, cw, aas, started, deadline)
        except Busy as exc:
            if not args.wait_if_busy:
                raise
            gha.log(f"{exc.problem}: waiting for it, then deciding again (--wait-if-busy)")


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
        response = _went_through(sm, exc, args.endpoint_name, name, outputs, called="model-name" in outputs, seen=None)
    if plan.current is not None:
        return update(args, plan, sm, cw, aas, outputs, started, deadline, tags)

    outputs.update({"endpoint-arn": response["EndpointArn"], "action": "created"})
    final, served = _wait_for_ours(sm, args.endpoint_name, name, deadline, outputs)
    moved_on = _moved_on(sm, final, name, served, after=0)
    outcome = None if moved_on else _outcome(sm, final, name, None, cw, plan.strategy)
    gha.add_summary(_summary(args, plan.package, plan, None, name, outcome or "created", started,
                             plan.warnings + ([moved_on] if moved_on else [])))
    if outcome:
        raise RemoteFailure(outcome, _after_failure(sm, final, name, None, created=True), outputs=outputs)
    _finish(sm, aas, plan, succeeded=True, endpoint_arn=response["EndpointArn"], serving=not moved_on)
    _report_done(args.endpoint_name, name, "created", started, moved_on)
    return outputs


def update(args, plan: Plan, sm, cw, aas, outputs: dict, started: float, deadline: float, tags: list[dict]) -> dict:
    """The guarded update path deploy and rollback share: rollback alarms, UpdateEndpoint with the
    plan's DeploymentConfig (and RetainAllVariantProperties for a scaled variant), autoscaling
    deregistered around an instance-type change, the wait, and the outcome read back."""
    name, current = plan.config_name, plan.current
    before = history.record(sm, current["EndpointArn"], current["EndpointConfigName"], plan.old.package_arn if plan.old else None)
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
            response = _went_through(sm, exc, args.endpoint_name, name, outputs, called=True, made=plan.creates_config,
                                     seen=current["EndpointConfigName"])
        except (RemoteFailure, Busy):
            if suspended:
                scaling.apply(aas, args.endpoint_name, plan.new.variant, plan.scaling_before)
            raise
    how = plan.strategy.describe() if plan.deployment_config() else DEFAULT_UPDATE
    gha.log(f"updating endpoint {args.endpoint_name}: {current['EndpointConfigName']} -> {name} ({how})")
    outputs.update({"endpoint-arn": response["EndpointArn"], "action": "updated"})
    try:
        final, served = _wait_for_ours(sm, args.endpoint_name, name, deadline, outputs)
    except TimedOut as exc:
        if suspended:
            exc.fix += "; " + scaling.restore_hint(args.endpoint_name, plan.new.variant, plan.scaling_before)
        raise
    moved_on = _moved_on(sm, final, name, served, after=before.number)
    outcome = None if moved_on else _outcome(sm, final, name, current["EndpointConfigName"], cw, plan.strategy)
    _finish(sm, aas, plan, succeeded=not outcome, endpoint_arn=response["EndpointArn"], serving=not moved_on)
    gha.add_summary(_summary(args, plan.package, plan, current, name, outcome or "updated", started,
                             plan.warnings + ([moved_on] if moved_on else [])))
    if outcome:
        raise RemoteFailure(outcome, _after_failure(sm, final, name, current, created=plan.creates_config), outputs=outputs)
    _report_done(args.endpoint_name, name, "updated", started, moved_on)
    return outputs


def _wait_for_ours(sm, endpoint_name: str, name: str, deadline: float, outputs: dict) -> tuple[dict, bool]:
    """Wait until this run's change of the endpoint (to config `name`) is over: the endpoint
    settled, or another change began after it (an update deploying another config). Also
    whether `name` was seen serving on the way."""
    served = False

    def over(found: dict) -> bool:
        nonlocal served
        served = served or found["EndpointConfigName"] == name
        return endpoint.settled(found) or endpoint.pending(found) not in (None, name)

    return endpoint.wait_settled(sm, endpoint_name, deadline, outputs, over), served


def _moved_on(sm, final: dict, name: str, served: bool, after: int) -> str | None:
    """When this change completed and another began after it: what that other change is, in one
    line. It completed if `name` was seen serving, or if the history smops keeps in the endpoint's
    tags gained an entry of it (numbered above `after`: a later deploy or rollback records the
    config it replaces)."""
    serving, other = final["EndpointConfigName"], endpoint.pending(final)
    if serving == name and not other:
        return None
    completed = served or serving == name or any(
        e.config == name and e.number > after for e in history.read(sm, final["EndpointArn"])
    )
    if not completed:
        return None
    endpoint_name = final["EndpointName"]
    if serving == name:
        return f"deployment of {name} to {endpoint_name} completed; another is under way over it, of {_origin(sm, other)}"
    line = f"deployment of {name} to {endpoint_name} completed, then was replaced by {_origin(sm, serving)}"
    return line + (f"; another deployment is under way, of {_origin(sm, other)}" if other else "")


def _origin(sm, config: str) -> str:
    return origin(config, config_tags(sm, config))


def _report_done(endpoint_name: str, name: str, action: str, started: float, moved_on: str | None) -> None:
    took = duration(time.monotonic() - started)
    if moved_on:
        gha.warning(moved_on, title="another deployment")
        gha.log(f"endpoint {endpoint_name} served {name} ({action}) after {took}; it serves another config now")
    else:
        gha.log(f"endpoint {endpoint_name} InService with {name} ({action}) in {took}")


def _finish(sm, aas, plan: Plan, succeeded: bool, endpoint_arn: str | None = None, serving: bool = True) -> None:
    """After the endpoint settled: the scaling it should have (the plan's when the new config
    serves, the one before when a suspended registration must come back), and the history
    (unless another config replaced the new one already: `serving` False)."""
    variant = plan.new.variant
    if succeeded and plan.scaling_after and (plan.suspend_scaling or plan.scaling_changes()):
        scaling.apply(aas, plan.endpoint_name, variant, plan.scaling_after)
        gha.log(f"autoscaling of {plan.endpoint_name}/{variant}: {plan.scaling_after.describe()}")
    elif not succeeded and plan.suspend_scaling:
        scaling.apply(aas, plan.endpoint_name, variant, plan.scaling_before)
        gha.log(f"autoscaling of {plan.endpoint_name}/{variant} restored: {plan.scaling_before.describe()}")
    if succeeded and serving:
        history.record(sm, endpoint_arn or plan.current["EndpointArn"], plan.config_name, plan.new.package_arn)


def _went_through(
    sm, exc: Exception, endpoint_name: str, name: str, outputs: dict, called: bool, made: bool = True,
    seen: str | None = None,
) -> dict:
    """After a failed call, the endpoint when it is deploying `name` all the same (the answer to
    CreateEndpoint or UpdateEndpoint was lost and botocore's retry was refused); otherwise the
    failure, saying what is left behind. `called`: the endpoint call was made; `made`: this run
    created the model and config `name`; `seen`: the config the plan saw serving (None: no
    endpoint). Busy when another change to the endpoint began since the plan read it."""
    failed = aws.describe_error(exc, endpoint_name)
    denied = aws.access_denied(exc) if isinstance(exc, botocore.exceptions.ClientError) else None
    unchanged = (f"{denied[1]}; " if denied else "") + "the endpoint itself was not changed"
    if made:
        unchanged += f"; `smops cleanup --endpoint-name {endpoint_name}` removes what was made of {name}"
    gone = _gone(sm, exc, name, made)
    if gone:
        raise RemoteFailure(gone, f"{endpoint_name} was not changed; run the command again", outputs=outputs) from exc
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
    if found and name in {found["EndpointConfigName"], endpoint.pending(found)}:
        gha.warning(f"{failed}; yet {endpoint_name} is deploying {name}: the request went through, waiting for it")
        return found
    if found and (not endpoint.settled(found) or found["EndpointConfigName"] != seen):
        raise _busy(sm, found, name, made) from exc
    raise RemoteFailure(failed, unchanged, outputs=outputs) from exc


def _gone(sm, exc: Exception, name: str, made: bool) -> str | None:
    """When a call failed because config (or model) `name` no longer exists: that, in one line."""
    if not isinstance(exc, botocore.exceptions.ClientError) or not aws.is_not_found(exc):
        return None
    whose = ", which this run made," if made else ""
    by = "(`smops cleanup`, or someone, deleted it)"
    if aws.found(sm.describe_endpoint_config, EndpointConfigName=name) is None:
        if made and aws.found(sm.describe_model, ModelName=name) is None and exc.operation_name == "CreateEndpointConfig":
            return f"model {name}{whose} was deleted before its endpoint config could be made {by}"
        return f"endpoint config {name}{whose} was deleted before the endpoint could start deploying it {by}"
    return None


def _busy(sm, found: dict, name: str, made: bool) -> Busy:
    """Another change to the endpoint began first: say which, after removing what this run made."""
    if endpoint.settled(found):
        problem = f"endpoint {found['EndpointName']} was changed by another deployment since this one read it: it serves {_origin(sm, found['EndpointConfigName'])}"
    else:
        problem = planning.busy(found, config_tags(sm, endpoint.pending(found) or found["EndpointConfigName"])).problem
    if made:
        try:
            sm.delete_endpoint_config(EndpointConfigName=name)
            sm.delete_model(ModelName=name)
            problem += f"; this run's {name} was removed, nothing was changed"
        except aws.ERRORS as exc:
            problem += f"; this run's {name} could not be removed ({exc}): `smops cleanup` removes it"
    return Busy(problem, "wait for it to finish, or pass --wait-if-busy")


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


def _outcome(sm, final: dict, new_config: str, previous: str | None, cw, strategy: Strategy) -> str | None:
    """None when the endpoint serves the new config; otherwise what went wrong, in one line. Only
    an endpoint back on the config it served before (`previous`) was rolled back by SageMaker."""
    status, serving = final["EndpointStatus"], final["EndpointConfigName"]
    name = final["EndpointName"]
    if status == "InService" and serving == new_config:
        return None
    reason = final.get("FailureReason")
    if status == "InService" or endpoint.pending(final):
        if previous is not None and serving != previous:
            return (
                f"deployment of {new_config} to {name} did not complete ({reason or 'it never served'}), and "
                f"another deployment changed the endpoint since: it serves {_origin(sm, serving)}"
            )
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
    if current and (final["EndpointStatus"] == "InService" or endpoint.pending(final)):
        unused = f" (`smops cleanup --endpoint-name {final['EndpointName']}` removes it)" if created else ""
        serving = final["EndpointConfigName"]
        now = (f"the previous config {serving} is still serving" if serving == current["EndpointConfigName"]
               else f"{serving} is serving")
        return f"{now}; {new_config} was not kept{unused}; see {link}"
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
        lines += ["", traffic_picture.traffic_shift(plan, outcome, time.monotonic() - started)]
    if package:
        lines += ["", registry.summary_lines(package, s3)]
    lines += [f"\n> ⚠️ {w}" for w in warnings]
    return "\n".join(lines)
