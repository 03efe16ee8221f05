"""A pipeline definition's step graph: every step, those inside Condition branches included, with
what must finish before each starts. The build draws and waits on it, `smops status` finds the
data its jobs read from it, and the emulator runs executions by it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

STEP_REFERENCE = re.compile(r"^Steps\.([^.\[]+)")


@dataclass(frozen=True)
class GraphStep:
    """One step of a definition, with what must finish before it starts."""

    name: str
    definition: dict
    depends_on: frozenset[str]  # DependsOn, the steps whose properties it reads, its condition
    branch_of: tuple[str, bool] | None  # (condition step, outcome that runs this step)

    @property
    def type(self) -> str:
        return self.definition.get("Type", "")


def step_graph(definition: dict) -> list[GraphStep]:
    """Every step, those inside Condition branches included, in definition order."""

    def flatten(step_list, branch_of=None) -> list[GraphStep]:
        flat = []
        for step in step_list or []:
            depends = set(step.get("DependsOn") or []) | _references(step.get("Arguments"))
            if branch_of:
                depends.add(branch_of[0])
            flat.append(GraphStep(step["Name"], step, frozenset(depends), branch_of))
            if step.get("Type") == "Condition":
                arguments = step.get("Arguments") or {}
                flat += flatten(arguments.get("IfSteps"), (step["Name"], True))
                flat += flatten(arguments.get("ElseSteps"), (step["Name"], False))
        return flat

    return flatten(definition.get("Steps"))


def _references(value: Any) -> set[str]:
    """Names of the steps whose properties a value reads ({"Get": "Steps.Train.…"})."""
    if isinstance(value, dict):
        found: set[str] = set()
        for key, inner in value.items():
            match = STEP_REFERENCE.match(inner) if key == "Get" and isinstance(inner, str) else None
            found |= {match.group(1)} if match else _references(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_references(inner) for inner in value))
    return set()


def step_types(graph: list[GraphStep]) -> dict[str, str]:
    """Step name → type, including the steps inside Condition branches."""
    return {step.name: step.type for step in graph}
