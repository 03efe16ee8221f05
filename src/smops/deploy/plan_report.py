"""A plan shown: the strategy as a timeline, the instance-hours of the fleets side by side, and
the plan as data (`--json`, the `plan` output), text (stderr) and Markdown (the job summary).

Everything shown comes from one `as_dict`, so the three forms say the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smops import gha
from smops.deploy.plan import Fleet, Plan
from smops.errors import BadInput
from smops.waiting import duration


# -- the strategy as a timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    at: int  # seconds after the new fleet is provisioned
    what: str


def timeline(plan: Plan) -> list[Step]:
    """Each traffic step with its share and bake, ending when the old fleet goes away."""
    new, old = plan.new, plan.old
    if plan.action == "unchanged":
        return []
    if plan.action == "created":
        return [Step(0, f"create {plan.endpoint_name} serving {_capacity(new)}; no old fleet")]
    if not plan.shifting:
        return [Step(0, "SageMaker moves the serverless variant to the new config; no traffic shifting, no bake")]
    blue = f"old fleet ({_capacity(old)})"
    config = plan.deployment_config()
    if config is None:
        return [Step(0, f"all traffic to the new fleet ({_capacity(new)}), no bake"), Step(0, f"{blue} terminated")]
    s = plan.strategy
    watch = f"watching {len(s.alarms)} alarm(s)" if s.alarms else "no alarms to watch"
    bake = f"bake {duration(s.bake)} ({watch})"
    steps: list[Step] = []
    if s.name == "rolling":
        batches = math.ceil(100 / s.batch_size)
        for i in range(batches):
            share = min(100, (i + 1) * s.batch_size)
            steps.append(Step(i * s.bake, f"batch {i + 1}/{batches}: {s.batch_size}% of capacity on the new config, "
                                          f"{share}% of traffic; {bake}; then as much of the old fleet terminated"))
        return steps + [Step(batches * s.bake, f"the last of the {blue} is gone")]
    if s.name == "all-at-once":
        steps.append(Step(0, f"100% of traffic to the new fleet ({_capacity(new)}); {bake}"))
        at = s.bake
    elif s.name == "canary":
        steps.append(Step(0, f"canary: {s.canary_size}% of the new fleet's capacity takes traffic; {bake}"))
        steps.append(Step(s.bake, "the rest of the traffic to the new fleet (100%)"))
        at = s.bake
    else:  # linear
        shifts = math.ceil(100 / s.linear_step)
        for i in range(shifts):
            steps.append(Step(i * s.bake, f"{min(100, (i + 1) * s.linear_step)}% of traffic to the new fleet; {bake}"))
        at = shifts * s.bake
    if s.termination_wait:
        steps.append(Step(at, f"final bake: the old fleet kept {duration(s.termination_wait)} more for a fast rollback"))
        at += s.termination_wait
    return steps + [Step(at, f"{blue} terminated")]


def _capacity(fleet: Fleet | None) -> str:
    if fleet is None:
        return "—"
    if fleet.serverless:
        return f"serverless {fleet.serverless['MemorySizeInMB']} MB"
    count = "?" if fleet.instance_count is None else fleet.instance_count
    return f"{count} × {fleet.instance_type or '?'}"


def instance_hours(plan: Plan) -> dict | None:
    """The old and new fleets' instances while both run, not counting the new fleet's provisioning."""
    steps = timeline(plan)
    if not plan.shifting or not steps or plan.old is None:
        return None
    old_count, new_count = plan.old.instance_count or 0, plan.new.instance_count or 0
    seconds = steps[-1].at
    if plan.deployment_config() and plan.strategy.name == "rolling":
        extra = math.ceil(new_count * plan.strategy.batch_size / 100)
        return {"overlap-seconds": seconds, "old": old_count, "new": new_count,
                "side-by-side": round((old_count + extra) * seconds / 3600, 2),
                "extra": round(extra * seconds / 3600, 2)}
    return {"overlap-seconds": seconds, "old": old_count, "new": new_count,
            "side-by-side": round((old_count + new_count) * seconds / 3600, 2),
            "extra": round(old_count * seconds / 3600, 2)}


# -- showing a plan -------------------------------------------------------------------------------


def as_dict(plan: Plan) -> dict:
    """The plan as data: --json, the `plan` output, and what the text and Markdown show."""
    old = plan.old.settings() if plan.old else {}
    new = plan.new.settings()
    steps = timeline(plan)
    return {
        "command": plan.command,
        "endpoint-name": plan.endpoint_name,
        "action": plan.action,
        "waits-for": plan.waits_for,
        "model-package-arn": plan.new.package_arn,
        "endpoint-config-name": plan.config_name,
        "creates-config": plan.creates_config,
        "changes": [
            {"setting": k, "now": old.get(k, "—"), "after": v, "changed": old.get(k, "—") != v}
            for k, v in new.items()
        ],
        "strategy": plan.strategy.describe() if plan.shifting else ("create" if plan.action == "created" else "—"),
        "deployment-config": plan.deployment_config(),
        "retain-all-variant-properties": plan.retain_instances,
        "timeline": [{"at-seconds": s.at, "step": s.what} for s in steps],
        "old-fleet-gone-at-seconds": steps[-1].at if plan.shifting and steps else None,
        "alarms": [
            {"name": a, "state": plan.alarm_states.get(a, "created by this command" if a in plan.alarms_created else "missing")}
            for a in (plan.strategy.alarms if plan.shifting else ())
        ],
        "autoscaling": {
            "before": plan.scaling_before.as_dict() if plan.scaling_before else None,
            "after": plan.scaling_after.as_dict() if plan.scaling_after else None,
            "deregistered-during-update": plan.suspend_scaling,
        },
        "instance-hours": instance_hours(plan),
        "warnings": plan.warnings,
    }


def _scaling_line(plan: Plan) -> str:
    before, after = plan.scaling_before, plan.scaling_after
    if before is None and after is None:
        return "not registered"
    if after is not None and after.same_as(before):
        line = f"kept: {after.describe()}"
    elif before is None:
        line = f"registered after the endpoint is InService: {after.describe()}"
    else:
        line = f"{before.describe()} → {after.describe()}"
    if plan.retain_instances:
        line += f"; the new fleet starts with the live {plan.new.instance_count} instance(s) (RetainAllVariantProperties)"
    if plan.suspend_scaling:
        line += "; deregistered during the update (a new instance type) and registered again after, whatever the outcome"
    return line


def _hours_line(hours: dict | None) -> str:
    if hours is None:
        return "no old and new fleets side by side"
    return (
        f"old {hours['old']} and new {hours['new']} instance(s) side by side for {duration(hours['overlap-seconds'])}: "
        f"{hours['side-by-side']} instance-hours, {hours['extra']} more than steady state "
        "(plus the minutes SageMaker takes to provision the new fleet)"
    )


def _headline(plan: Plan) -> str:
    verb = {"created": "would create", "updated": "would update", "unchanged": "would leave unchanged"}[plan.action]
    where = f" ({plan.environment})" if plan.environment else ""
    return f"smops {plan.command} --dry-run: {verb} {plan.endpoint_name}{where}"


def text(plan: Plan) -> str:
    """The plan for the log (stderr)."""
    data = as_dict(plan)
    lines = [_headline(plan)]
    if plan.waits_for:
        lines.append(f"  first: {plan.waits_for}")
    width = max(len(c["now"]) for c in [*data["changes"], {"now": "now"}]) + 2
    lines.append(f"  {'setting':<16}{'now':<{width}}after")
    for c in data["changes"]:
        lines.append(f"{'*' if c['changed'] else ' '} {c['setting']:<16}{c['now']:<{width}}{c['after']}")
    lines.append(f"  strategy      {data['strategy']}")
    for s in data["timeline"]:
        lines.append(f"  {duration(s['at-seconds']):>8}  {s['step']}")
    if data["old-fleet-gone-at-seconds"] is not None:
        lines.append(f"  the old fleet goes away {duration(data['old-fleet-gone-at-seconds'])} after the new one is provisioned")
    for a in data["alarms"]:
        lines.append(f"  alarm         {a['name']} ({a['state']})")
    lines.append(f"  autoscaling   {_scaling_line(plan)}")
    lines.append(f"  instance-hours {_hours_line(data['instance-hours'])}")
    lines += [f"  warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def markdown(plan: Plan) -> str:
    """The plan for the job summary."""
    data = as_dict(plan)
    lines = [f"### {_headline(plan)}", ""]
    if plan.waits_for:
        lines += [f"First: {plan.waits_for}.", ""]
    rows = [[c["setting"], f"`{c['now']}`", f"**`{c['after']}`**" if c["changed"] else f"`{c['after']}`"] for c in data["changes"]]
    lines += [gha.table(["setting", "now", "after"], rows), "", f"**Strategy**: {data['strategy']}"]
    if data["timeline"]:
        lines += ["", gha.table(["at", "step"], [[duration(s["at-seconds"]), s["step"]] for s in data["timeline"]])]
    if data["old-fleet-gone-at-seconds"] is not None:
        lines += ["", f"The old fleet goes away {duration(data['old-fleet-gone-at-seconds'])} after the new one is provisioned."]
    if data["alarms"]:
        lines += ["", "**Rollback alarms**: " + ", ".join(f"`{a['name']}` ({a['state']})" for a in data["alarms"])]
    lines += ["", f"**Autoscaling**: {_scaling_line(plan)}", "", f"**Instance-hours**: {_hours_line(data['instance-hours'])}"]
    lines += [f"\n> ⚠️ {w}" for w in plan.warnings]
    return "\n".join(lines)


def show(plan: Plan) -> dict:
    """A dry run's report: the plan on stderr and in the summary; the outputs, with the plan."""
    for warning in plan.warnings:
        gha.warning(warning, title=f"smops {plan.command} plan")
    gha.log(text(plan))
    gha.add_summary(markdown(plan))
    outputs = {"endpoint-name": plan.endpoint_name, "action": plan.action, "plan": as_dict(plan)}
    if plan.new.package_arn:
        outputs["model-package-arn"] = plan.new.package_arn
    return outputs


def refused(command: str, endpoint_name: str, error: BadInput) -> None:
    """A dry run's summary when the real command would be refused."""
    gha.add_summary(f"### smops {command} --dry-run: `{endpoint_name}` ⛔ would be refused\n\n{error}")
