"""Mermaid pictures for job summaries and comments, which GitHub renders as diagrams.

- `build_graph`: the pipeline's steps and what each waits for, coloured by status, the failed one
  unmistakable, and the branch its condition took drawn bold (the other dotted).
- `traffic_shift`: how a deploy moved the endpoint from its old config to the new one — the
  stages of the plan's timeline (canary, linear or rolling with their bakes; none for a serverless
  variant) — and the rollback when there was one.
"""

from __future__ import annotations

from smops.pipeline import GraphStep, step_seconds
from smops.plan import Plan
from smops.plan_report import timeline
from smops.strategy import Strategy
from smops.waiting import duration

CLASSES = [
    "classDef succeeded fill:#dafbe1,stroke:#1a7f37,color:#0a3622",
    "classDef failed fill:#ffebe9,stroke:#cf222e,stroke-width:4px,color:#67060c",
    "classDef running fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
    "classDef stopped fill:#eaeef2,stroke:#57606a,color:#24292f",
    "classDef notrun fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:4 3,color:#57606a",
]
STEP_CLASSES = {
    "Succeeded": ("succeeded", "✅"),
    "Failed": ("failed", "❌"),
    "Executing": ("running", "⏳"),
    "Starting": ("running", "⏳"),
    "Stopping": ("running", "⏳"),
    "Stopped": ("stopped", "⏹️"),
}
REASON_MAX = 100


def _text(value: object) -> str:
    """A label safe inside Mermaid's double quotes."""
    text = " ".join(str(value).split())
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _fenced(lines: list[str]) -> str:
    return "\n".join(["```mermaid", *lines, *(f"  {c}" for c in CLASSES), "```"])


def build_graph(graph: list[GraphStep], step_list: list[dict]) -> str:
    """The pipeline's step graph, each step as the execution left it."""
    ran = {s["StepName"]: s for s in step_list}
    ids = {step.name: f"s{number}" for number, step in enumerate(graph)}
    outcomes = {
        name: str(s.get("Metadata", {}).get("Condition", {}).get("Outcome", "")).lower() == "true"
        for name, s in ran.items()
        if s.get("Metadata", {}).get("Condition", {}).get("Outcome")
    }
    lines = ["flowchart LR"]
    for step in graph:
        found = ran.get(step.name)
        status = found["StepStatus"] if found else "not run"
        css, icon = STEP_CLASSES.get(status, ("notrun", "·"))
        label = f"{icon} {_text(step.name)}<br/>{_text(step.type)} · {status}"
        seconds = step_seconds(found) if found else None
        if seconds is not None:
            label += f" · {duration(seconds)}"
        if found and found.get("FailureReason"):
            reason = found["FailureReason"]
            label += f"<br/>{_text(reason[:REASON_MAX] + ('…' if len(reason) > REASON_MAX else ''))}"
        shape = ('{"', '"}') if step.type == "Condition" else ('["', '"]')
        lines.append(f"  {ids[step.name]}{shape[0]}{label}{shape[1]}:::{css}")
    by_name = {step.name: step for step in graph}
    for step in graph:
        for dependency in sorted(step.depends_on & ids.keys()):
            if step.branch_of and dependency == step.branch_of[0]:
                # The branch edge, unless a step of the same branch already leads here.
                if any(by_name[d].branch_of == step.branch_of for d in step.depends_on & ids.keys()):
                    continue
                lines.append(_branch_edge(ids[dependency], ids[step.name], step.branch_of[1], outcomes.get(dependency)))
            else:
                lines.append(f"  {ids[dependency]} --> {ids[step.name]}")
    return _fenced(lines)


def _branch_edge(source: str, target: str, outcome: bool, taken: bool | None) -> str:
    word = "true" if outcome else "false"
    if taken is None:
        return f'  {source} -.->|"if {word}"| {target}'
    if taken == outcome:
        return f'  {source} ==>|"✓ {word}: taken"| {target}'
    return f'  {source} -.->|"{word}: not taken"| {target}'


def traffic_shift(plan: Plan, outcome: str, seconds: float) -> str:
    """How the endpoint moved to the plan's new config, stage by stage as the plan's timeline (the
    one a dry run shows) has it; `outcome` is the deploy's (created, updated, or the one-line
    failure, which says when SageMaker rolled back)."""
    new = _text(plan.config_name)
    if plan.current is None:
        css = "succeeded" if outcome == "created" else "failed"
        return _fenced([
            "flowchart LR",
            '  start(["new endpoint"]) --> new',
            f'  new["{new}<br/>{"serves 100% of traffic" if css == "succeeded" else _text(outcome)}"]:::{css}',
        ])
    old_config = plan.current["EndpointConfigName"]
    lines = ["flowchart LR", f'  old["{_text(old_config)}<br/>served 100% before"]:::stopped']
    if plan.deployment_config():
        title = _shape(plan.strategy)
    else:
        title = "SageMaker's default: blue/green, all at once, no bake" if plan.shifting else "serverless: no traffic shifting"
    lines.append(f'  subgraph shift["{_text(title)}"]')
    lines.append("    direction LR")
    stages = [step.what for step in timeline(plan)]
    for number, stage in enumerate(stages):
        lines.append(f'    t{number}["{_text(stage)}"]')
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
        lines.append(f'  shift -.->|"{_text(why)}"| back')
        lines.append(f'  back["⏪ rolled back after {duration(seconds)}<br/>{_text(old_config)} serves 100%"]:::failed')
        lines.append(f"  t{len(stages) - 1} -.-> new")
        lines.append(f'  new["{new}<br/>not kept"]:::notrun')
    else:
        lines.append(f"  t{len(stages) - 1} --> new")
        lines.append(f'  new["{new}<br/>{_text(outcome)}"]:::failed')
    return _fenced(lines)


def _shape(strategy: Strategy) -> str:
    watched = len(strategy.alarms)
    alarms = f"{watched} rollback alarm{'s' if watched > 1 else ''} watched" if watched else "no rollback alarms"
    return f"{strategy.shape()} · {alarms}"
