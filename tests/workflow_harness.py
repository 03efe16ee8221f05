"""Run one job of a reusable workflow the way a runner would, as far as a rehearsal needs.

Steps that use a third-party action (checkout, configure-aws-credentials) are skipped: the
project and the toolkit are already on disk, and a rehearsal has no credentials. Steps that use
the toolkit's own actions (`./.smops-toolkit/actions/X`, or `./.smops-toolkit`, the root
action) run through actions_harness, with their
`with:` evaluated against `inputs`, `needs` and `github`; GITHUB_ENV written by a step reaches
the later ones, as on a runner. `if:` and `with:` expressions are evaluated with the subset of
GitHub's expression language the workflows use: references, string and boolean literals, `!`,
`&&`, `||`, `==`, `!=` and the status functions. After a step fails, the later steps run only
when their `if:` calls a status function that lets them (`!cancelled()`, `always()`,
`failure()`), and `steps.<id>.outcome` says what each step did, as on a runner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from actions_harness import HarnessError, Result, run_action
from conftest import ROOT

TOOLKIT = "./.smops-toolkit/"
TOKEN = re.compile(r"\s*(&&|\|\||==|!=|!|'(?:[^']|'')*'|(?:success|failure|always|cancelled)\(\)|[A-Za-z_][\w.-]*)")
STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")


def toolkit_action(uses: str) -> str | None:
    """The toolkit's action a `uses:` names, relative to the toolkit's root (`.` for the root
    action); None for anything else."""
    if uses == TOOLKIT.rstrip("/"):
        return "."
    return uses.removeprefix(TOOLKIT) if uses.startswith(TOOLKIT) else None


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def _truthy(value: object) -> bool:
    return value not in (None, "", False, 0)


def _lookup(path: str, context: dict) -> object:
    node: object = context
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def evaluate(expression: str, context: dict) -> object:
    """Evaluate one `${{ }}` body."""
    tokens = [t for t in TOKEN.findall(expression)]
    if "".join(tokens).replace(" ", "") != expression.replace(" ", ""):
        raise HarnessError(f"expression outside the supported subset: {expression}")
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def primary():
        token = take()
        if token == "!":
            return not _truthy(primary())
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token in ("true", "false"):
            return token == "true"
        if token == "null":
            return None
        if token in STATUS_FUNCTIONS:  # a job is never cancelled here
            failed = context.get("failed", False)
            return {"success()": not failed, "failure()": failed, "always()": True, "cancelled()": False}[token]
        return _lookup(token, context)

    def comparison():
        left = primary()
        while peek() in ("==", "!="):
            op, right = take(), primary()
            left = (left == right) if op == "==" else (left != right)
        return left

    def conjunction():
        left = comparison()
        while peek() == "&&":
            take()
            right = comparison()
            left = right if _truthy(left) else left
        return left

    def disjunction():
        left = conjunction()
        while peek() == "||":
            take()
            right = conjunction()
            left = left if _truthy(left) else right
        return left

    value = disjunction()
    if position != len(tokens):
        raise HarnessError(f"could not evaluate {expression}")
    return value


def render(value: object, context: dict) -> str:
    """A `with:` value: expressions substituted into the string, as the runner does."""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)

    def one(match: re.Match) -> str:
        result = evaluate(match.group(1), context)
        if isinstance(result, bool):
            return str(result).lower()
        return "" if result is None else str(result)

    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, text)


@dataclass
class JobResult:
    returncode: int
    outputs: dict[str, str]
    steps: list[tuple[str, Result]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def call_inputs(workflow: str, given: dict[str, object]) -> dict[str, object]:
    """The `inputs` context of a workflow_call: the caller's values over the declared defaults."""
    declared = (load(workflow).get(True) or {})["workflow_call"]["inputs"]
    unknown = set(given) - set(declared)
    if unknown:
        raise HarnessError(f"{workflow} has no input {sorted(unknown)}")
    values = {name: meta.get("default") for name, meta in declared.items()}
    values.update(given)
    missing = [n for n, m in declared.items() if m.get("required") and values.get(n) in (None, "")]
    if missing:
        raise HarnessError(f"{workflow} needs {missing}")
    return values


def run_job(
    workflow: str,
    job_id: str,
    inputs: dict[str, object],
    *,
    workspace: Path,
    tmp_path: Path,
    needs: dict[str, dict] | None = None,
    env: dict[str, str] | None = None,
) -> JobResult:
    job = load(workflow)["jobs"][job_id]
    context = {"inputs": inputs, "needs": needs or {}, "github": {"run_id": "1", "ref": "refs/heads/main"}, "steps": {},
               "failed": False}
    job_env = dict(env or {})
    tmp_path.mkdir(parents=True, exist_ok=True)
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    result = JobResult(returncode=0, outputs={})
    for index, step in enumerate(job["steps"]):
        name = step.get("id") or f"step{index}"
        condition = (step.get("if") or "").strip().removeprefix("${{").removesuffix("}}").strip()
        # Without a status function a step has an implicit success(): after a failure it is skipped.
        allowed = not context["failed"] or any(function in condition for function in STATUS_FUNCTIONS)
        runs = allowed and (not condition or _truthy(evaluate(condition, context)))
        # A `run:` step is workflow glue, tested on its own; a third-party action is assumed to work.
        action = toolkit_action(step.get("uses", ""))
        if not runs or action is None:
            result.skipped.append(name)
            context["steps"][name] = {"outputs": {}, "outcome": "success" if runs else "skipped"}
            continue
        given = {key: render(value, context) for key, value in (step.get("with") or {}).items()}
        ran = run_action(
            action,
            given,
            workspace=workspace,
            tmp_path=tmp_path / name,
            env={**job_env, "GITHUB_ENV": str(github_env)},
        )
        result.steps.append((name, ran))
        context["steps"][name] = {"outputs": ran.outputs, "outcome": "failure" if ran.returncode else "success"}
        job_env.update(dict(line.split("=", 1) for line in github_env.read_text().splitlines() if "=" in line))
        if ran.returncode != 0 and not context["failed"]:
            result.returncode = ran.returncode
            context["failed"] = True
    result.outputs = {name: render(value, context) for name, value in (job.get("outputs") or {}).items()}
    return result
