"""How a deploy moved the endpoint from its old config to the new one, in Mermaid: the stages of
the plan's timeline (canary, linear or rolling with their bakes; none for a serverless variant)
and the rollback when there was one."""

from __future__ import annotations

from smops import mermaid
from smops.deploy.plan import Plan
from smops.deploy.plan_report import timeline
from smops.deploy.strategy import Strategy
from smops.waiting import duration

def traffic_shift(plan: Plan, outcome: str, seconds: float) -> str:
    """How the endpoint moved to the plan's new config, stage by stage as the plan's timeline (the
    one a dry run shows) has it; `outcome` is the deploy's (created, updated, or the one-line
    failure, which says when SageMaker rolled back)."""
    new = mermaid.label(plan.config_name)
    if plan.current is None:
        css = "succeeded" if outcome == "created" else "failed"
        return mermaid.fenced([
            "flowchart LR",
            '  start(["new endpoint"]) --> new',
            f'  new["{new}<br/>{"serves 100% of traffic" if css == "succeeded" else mermaid.label(outcome)}"]:::{css}',
        ])
    old_config = plan.current["EndpointConfigName"]
    lines = ["flowchart LR", f'  old["{mermaid.label(old_config)}<br/>served 100% before"]:::stopped']
    if plan.deployment_config():
        title = _shape(plan.strategy)
    else:
        title = "SageMaker's default: blue/green, all at once, no bake" if plan.shifting else "serverless: no traffic shifting"
    lines.append(f'  subgraph shift["{mermaid.label(title)}"]')
    lines.append("    direction LR")
    stages = [step.what for step in timeline(plan)]
    for number, stage in enumerate(stages):
        lines.append(f'    t{number}["{mermaid.label(stage)}"]')
    lines += [f"    t{n} --> t{n + 1}" for n in range(len(stages) - 1)]
    lines.append("  end")
    lines.append("  old --> t0")
    rolled_back = "rolled back" in outcome
    if outcome == "updated":
        lines.append(f"  t{len(stages) - 1} --> new")
        lines.append(f'  new["{new}<br/>serves 100% after {duration(seconds)}"]:::succeeded')
    elif rolled_back:
        tripped = [alarm for alarm in plan.strategy.alarms if alarm in outcome]
        why = f"alarm {', '.join(tripped)} in ALARM" if tripped else "SageMaker rolled back"
        lines.append(f'  shift -.->|"{mermaid.label(why)}"| back')
        lines.append(f'  back["⏪ rolled back after {duration(seconds)}<br/>{mermaid.label(old_config)} serves 100%"]:::failed')
        lines.append(f"  t{len(stages) - 1} -.-> new")
        lines.append(f'  new["{new}<br/>not kept"]:::notrun')
    else:
        lines.append(f"  t{len(stages) - 1} --> new")
        lines.append(f'  new["{new}<br/>{mermaid.label(outcome)}"]:::failed')
    return mermaid.fenced(lines)


def _shape(strategy: Strategy) -> str:
    watched = len(strategy.alarms)
    alarms = f"{watched} rollback alarm{'s' if watched > 1 else ''} watched" if watched else "no rollback alarms"
    return f"{strategy.shape()} · {alarms}"
