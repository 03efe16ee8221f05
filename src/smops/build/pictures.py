"""The pipeline's step graph in Mermaid: its steps and what each waits for, coloured by status,
the failed one unmistakable, and the branch its condition took drawn bold (the other dotted)."""

from __future__ import annotations

from smops import mermaid
from smops.build.pipeline import step_seconds
from smops.pipeline_graph import GraphStep
from smops.waiting import duration

STEP_CLASSES = {
    "Succeeded": ("succeeded", "✅"),
    "Failed": ("failed", "❌"),
    "Executing": ("running", "⏳"),
    "Starting": ("running", "⏳"),
    "Stopping": ("running", "⏳"),
    "Stopped": ("stopped", "⏹️"),
}
REASON_MAX = 100


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
        label = f"{icon} {mermaid.label(step.name)}<br/>{mermaid.label(step.type)} · {status}"
        seconds = step_seconds(found) if found else None
        if seconds is not None:
            label += f" · {duration(seconds)}"
        if found and found.get("FailureReason"):
            reason = found["FailureReason"]
            label += f"<br/>{mermaid.label(reason[:REASON_MAX] + ('…' if len(reason) > REASON_MAX else ''))}"
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
    return mermaid.fenced(lines)


def _branch_edge(source: str, target: str, outcome: bool, taken: bool | None) -> str:
    word = "true" if outcome else "false"
    if taken is None:
        return f'  {source} -.->|"if {word}"| {target}'
    if taken == outcome:
        return f'  {source} ==>|"✓ {word}: taken"| {target}'
    return f'  {source} -.->|"{word}: not taken"| {target}'
