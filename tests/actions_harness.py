"""Run a composite action's `run:` steps the way a GitHub runner would, without a runner.

Each step gets its inputs through `env:` after the runner's `${{ }}` substitution, fresh
GITHUB_OUTPUT/GITHUB_STEP_SUMMARY files, GITHUB_ACTION_PATH, and bash with the runner's flags;
its outputs are read back from GITHUB_OUTPUT and the action's outputs are evaluated from them.
Steps that `uses:` another action (actions/setup-python, actions/cache) are skipped, the
`python` one answering with the test's own interpreter; the `setup` step, whose job is to
provide a python with smops installed, is played by that interpreter too. The step that
computes the installer's cache key runs for real.

Only plain context references are substituted (`inputs.*`, `steps.*.outputs.*`,
`github.action_path`): an expression with logic in it fails here, which keeps the YAML thin.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from conftest import ROOT, read_outputs

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REFERENCE = re.compile(r"^(inputs\.[\w-]+|steps\.[\w-]+\.outputs\.[\w-]+|github\.action_path)$")
# What GitHub runs for `shell: bash`.
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
SETUP_STEP = "setup"
PYTHON_STEP = "python"


class HarnessError(Exception):
    """The action uses something this harness (and the house style) does not allow."""


@dataclass
class Result:
    returncode: int
    outputs: dict[str, str]
    steps: dict[str, dict[str, str]]
    ran: list[str]
    skipped: list[str]
    summary: str
    stderr: str
    env: dict[str, dict[str, str]] = field(default_factory=dict)


def load(action: str) -> dict:
    return yaml.safe_load((ROOT / action / "action.yml").read_text())


def substitute(text: object, context: dict[str, object]) -> str:
    """The runner's `${{ }}` substitution for plain references; anything else is refused."""
    if text is None:
        return ""
    if not isinstance(text, str):
        return str(text).lower() if isinstance(text, bool) else str(text)

    def value(match: re.Match) -> str:
        expression = match.group(1)
        if not REFERENCE.match(expression):
            raise HarnessError(f"expression with logic in an action: ${{{{ {expression} }}}}")
        node: object = context
        for part in expression.split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        return "" if node is None else str(node)

    return EXPRESSION.sub(value, text)


def run_action(
    action: str,
    inputs: dict[str, str],
    *,
    workspace: Path,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> Result:
    """Run ROOT/<action>/action.yml with these `with:` inputs; stops at the first failing step."""
    spec = load(action)
    declared = spec.get("inputs") or {}
    unknown = set(inputs) - set(declared)
    if unknown:
        raise HarnessError(f"{action} has no input {sorted(unknown)}")
    given = {name: str((meta or {}).get("default", "")) for name, meta in declared.items()}
    given.update(inputs)
    action_path = ROOT / action
    context: dict[str, object] = {
        "inputs": given,
        "steps": {},
        "github": {"action_path": str(action_path)},
    }
    base_env = {**os.environ, **(env or {})}
    base_env.update(
        GITHUB_ACTIONS="true",
        GITHUB_ACTION_PATH=str(action_path),
        GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(tmp_path / "runner-temp"),
    )
    (tmp_path / "runner-temp").mkdir(parents=True, exist_ok=True)
    summary_path = tmp_path / "step-summary.md"
    ran, skipped, stderr, step_env = [], [], [], {}
    returncode = 0
    for index, step in enumerate(spec["runs"]["steps"]):
        step_id = step.get("id", f"__{index}")
        if "uses" in step:
            if step_id == PYTHON_STEP:
                context["steps"][step_id] = {"outputs": {"python-path": sys.executable}}
            skipped.append(step_id)
            continue
        if step_id == SETUP_STEP:
            context["steps"][step_id] = {"outputs": {"python": sys.executable}}
            skipped.append(step_id)
            continue
        if step.get("shell") != "bash":
            raise HarnessError(f"step {step_id} of {action}: only `shell: bash` is run here")
        variables = {name: substitute(value, context) for name, value in (step.get("env") or {}).items()}
        output_file = tmp_path / f"output-{step_id}"
        output_file.write_text("")
        script = tmp_path / f"step-{step_id}.sh"
        if EXPRESSION.search(step["run"]):
            raise HarnessError(f"step {step_id} of {action}: `${{{{ }}}}` inside run: (pass it through env:)")
        script.write_text(step["run"])
        cwd = workspace / substitute(step.get("working-directory", "."), context)
        completed = subprocess.run(
            [*BASH, str(script)],
            env={**base_env, **variables, "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_path)},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        ran.append(step_id)
        step_env[step_id] = variables
        stderr.append(completed.stderr)
        context["steps"][step_id] = {"outputs": read_outputs(output_file)}
        if completed.returncode != 0:
            returncode = completed.returncode
            break
    outputs = {
        name: substitute(meta.get("value"), context) for name, meta in (spec.get("outputs") or {}).items()
    }
    return Result(
        returncode=returncode,
        outputs=outputs,
        steps={k: v["outputs"] for k, v in context["steps"].items()},
        ran=ran,
        skipped=skipped,
        summary=summary_path.read_text() if summary_path.exists() else "",
        stderr="".join(stderr),
        env=step_env,
    )
