"""SageMaker Pipelines: load a definition, check parameters, upsert, start, wait, read steps.

Loading never talks to AWS: a pipeline written with the SageMaker Python SDK (v2
`sagemaker.workflow` or v3 `sagemaker.mlops.workflow`) is rendered with `.definition()` and the
JSON is upserted with boto3, so the SDK is only needed to render, never to deploy.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smops import aws, gha
from smops.build import render_cache
from smops.errors import BadInput
from smops.waiting import duration, safety_net_seconds, wait_for

DEFAULT_FUNCTION = "get_pipeline"
# The keyword arguments of the AWS project templates' get_pipeline(), and where they come from.
PIPELINE_KWARGS = {
    "region": "region",
    "role": "role_arn",
    "default_bucket": "default_bucket",
    "pipeline_name": "pipeline_name",
    "model_package_group_name": "model_package_group",
    "base_job_prefix": "base_job_prefix",
    "sagemaker_project_name": "project_name",
}
TERMINAL = {"Succeeded", "Failed", "Stopped", "CompletedWithFailures"}
RUNNING_STEPS = {"Starting", "Executing", "Stopping"}
DEFINITION_TAG = "smops:definition-sha256"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
# Where each kind of step job writes its logs.
JOB_LOGS = {
    "TrainingJob": ("/aws/sagemaker/TrainingJobs", "jobs"),
    "ProcessingJob": ("/aws/sagemaker/ProcessingJobs", "processing-jobs"),
    "TransformJob": ("/aws/sagemaker/TransformJobs", "transform-jobs"),
}


# -- loading ---------------------------------------------------------------------------------


def load(spec: str, kwargs: dict[str, Any], cache: bool = False) -> dict:
    """The pipeline definition named by SPEC, as a dict; BadInput for anything unusable. With
    `cache`, a definition rendered before from the same inputs is reused (see render_cache)."""
    if spec.endswith(".json"):
        return _read_json(Path(spec))
    if not cache:
        return _render_code(spec, kwargs)
    request = {"spec": spec, "kwargs": kwargs}
    definition = render_cache.lookup(request)
    if definition is not None:
        gha.log("reusing the definition rendered before from the same files, arguments and environment")
        return definition
    with render_cache.recording() as record:
        definition = _render_code(spec, kwargs)
    render_cache.store(request, record, definition)
    return definition


def _render_code(spec: str, kwargs: dict[str, Any]) -> dict:
    target, function_name = _split_spec(spec)
    module = _import(target)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise BadInput(
            f"{target} has no function {function_name}()",
            f"define {function_name}(...) there, or name the function as {target}:FUNCTION",
        )
    return _render(_call(function, f"{target}:{function_name}", kwargs), spec)


def _split_spec(spec: str) -> tuple[str, str]:
    target, sep, function_name = spec.rpartition(":")
    if not sep or not function_name.isidentifier():
        return spec, DEFAULT_FUNCTION
    return target, function_name


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise BadInput(f"pipeline definition {path} not found", "check the --pipeline path")
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 ({exc.reason} at byte {exc.start})", "save it as UTF-8 JSON") from exc
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            "fix the file or render it again from the SDK",
        ) from exc
    return _checked(definition, str(path))


def _import(target: str):
    """Import a .py file (its folder joins sys.path, for sibling modules) or a dotted module."""
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = Path(target).resolve()
        if not path.is_file():
            raise BadInput(f"pipeline file {target} not found", "check the --pipeline path")
        sys.path.insert(0, str(path.parent))
        module_name = f"smops_pipeline_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        _user_code(lambda: module_spec.loader.exec_module(module), f"importing {target}")
        return module
    if not all(part.isidentifier() for part in target.split(".")):
        raise BadInput(
            f"--pipeline {target!r} is neither a .py file, a module nor a .json file",
            "use path/to/pipeline.py[:func], package.module[:func] or definition.json",
        )
    sys.path.insert(0, os.getcwd())
    try:
        return _user_code(lambda: importlib.import_module(target), f"importing {target}")
    except BadInput as exc:
        missing = getattr(exc.__cause__, "name", None) or ""
        if isinstance(exc.__cause__, ModuleNotFoundError) and f"{target}.".startswith(f"{missing}."):
            raise BadInput(
                f"no module named {target}",
                "run from the folder that contains it, or pass a path to the .py file",
            ) from None
        raise


def _user_code(thunk, doing: str):
    """Run the user's code; their exception becomes BadInput carrying their traceback."""
    try:
        return thunk()
    except Exception as exc:
        raise BadInput(
            f"error while {doing}: {type(exc).__name__}: {exc}",
            "fix the pipeline code (traceback below)",
            details=_user_traceback(exc),
        ) from exc


def _user_traceback(exc: Exception) -> str:
    """The traceback from the first frame of the user's code on: smops' and importlib's frames
    that lead into it only hide where the problem is."""
    tb = exc.__traceback__
    while tb and (tb.tb_frame.f_code.co_filename.startswith((__file__, "<frozen importlib"))):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _call(function, name: str, available: dict[str, Any]) -> Any:
    parameters = inspect.signature(function).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    kwargs = {
        key: value
        for key, value in available.items()
        if value is not None and (takes_any or key in parameters)
    }
    missing = [
        p.name
        for p in parameters.values()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in kwargs
    ]
    if missing:
        flags = [f"--{PIPELINE_KWARGS[m].replace('_', '-')}" for m in missing if m in PIPELINE_KWARGS]
        raise BadInput(
            f"{name}() needs {', '.join(missing)}",
            f"pass {', '.join(flags)}" if flags else "give those parameters defaults",
        )
    return _user_code(lambda: function(**kwargs), f"calling {name}()")


def _render(value: Any, spec: str) -> dict:
    if hasattr(value, "definition") and callable(value.definition):
        value = _user_code(value.definition, "rendering the pipeline definition")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{spec} returned a string that is not JSON", "return the Pipeline") from exc
    if not isinstance(value, dict):
        raise BadInput(
            f"{spec} returned {type(value).__name__}, not a pipeline",
            "return a sagemaker Pipeline, its definition() JSON, or a definition dict",
        )
    return _checked(value, spec)


def _checked(definition: Any, source: str) -> dict:
    if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
        raise BadInput(
            f"{source} is not a pipeline definition (no Steps list)",
            "render it with pipeline.definition() from the SageMaker SDK",
        )
    return definition


# -- checking inputs -------------------------------------------------------------------------


def check_names(pipeline_name: str, role_arn: str) -> None:
    if not NAME_PATTERN.match(pipeline_name):
        raise BadInput(
            f"pipeline name {pipeline_name!r} is not valid",
            "use up to 256 letters, digits and hyphens, starting with a letter or digit",
        )
    aws.check_role_arn(role_arn, "the role the pipeline runs as")


def parameter_values(definition: dict, given: list[tuple[str, str]]) -> list[dict[str, str]]:
    """--parameter NAME=VALUE pairs checked against the declared names and types."""
    declared = {p["Name"]: p for p in definition.get("Parameters") or []}
    values: dict[str, str] = {}
    for name, value in given:
        if name not in declared:
            valid = ", ".join(sorted(declared)) or "none: this pipeline declares no parameters"
            raise BadInput(f"unknown pipeline parameter {name!r}", f"valid parameters: {valid}")
        if name in values:
            raise BadInput(f"parameter {name} given twice", "pass each --parameter once")
        values[name] = _typed(name, declared[name].get("Type", "String"), value)
    for name, parameter in declared.items():
        if name not in values and parameter.get("DefaultValue") is None:
            raise BadInput(
                f"pipeline parameter {name} has no default value",
                f"pass --parameter {name}=VALUE",
            )
    return [{"Name": name, "Value": value} for name, value in values.items()]


def _typed(name: str, kind: str, value: str) -> str:
    try:
        if kind == "Integer":
            int(value)
        elif kind == "Float":
            float(value)
        elif kind == "Boolean" and value.lower() not in {"true", "false"}:
            raise ValueError
    except ValueError:
        raise BadInput(
            f"parameter {name}={value!r} is not a valid {kind}",
            f"give {name} a value of type {kind}",
        ) from None
    return value.lower() if kind == "Boolean" else value


# -- upsert and start -----------------------------------------------------------------------


def canonical(definition: dict) -> str:
    return json.dumps(definition, sort_keys=True, separators=(",", ":"))


def fingerprint(definition: dict) -> str:
    return hashlib.sha256(canonical(definition).encode()).hexdigest()


@dataclass
class Deployed:
    arn: str
    definition: dict
    role_arn: str
    description: str


def describe(sm, name: str) -> Deployed | None:
    """The deployed pipeline, from one DescribePipeline call; None when there is none."""
    found = aws.found(sm.describe_pipeline, PipelineName=name)
    if found is None:
        return None
    return Deployed(
        arn=found["PipelineArn"],
        definition=json.loads(found.get("PipelineDefinition") or "{}"),
        role_arn=found.get("RoleArn", ""),
        description=found.get("PipelineDescription", ""),
    )


def upsert(
    sm,
    name: str,
    definition: dict,
    role_arn: str,
    description: str | None,
    tags: list[dict[str, str]],
) -> tuple[str, str, int | None]:
    """Create, update or leave the pipeline; returns (arn, created|updated|unchanged, the
    pipeline version that holds this definition: 1 when created, UpdatePipeline's answer when
    updated, None when unchanged, since DescribePipeline does not say).

    Unchanged means the deployed definition (as DescribePipeline returns it, so an edit made in
    the console since counts) hashes to the new one's fingerprint, with the same role and
    description: one read and no write. Created and updated pipelines are tagged with that
    fingerprint (smops:definition-sha256), a record of what smops deployed.
    """
    new_sha = fingerprint(definition)
    tags = tags + [{"Key": DEFINITION_TAG, "Value": new_sha}]
    body = canonical(definition)
    deployed = describe(sm, name)
    if deployed is None:
        arn = sm.create_pipeline(
            PipelineName=name,
            PipelineDefinition=body,
            RoleArn=role_arn,
            Tags=tags,
            **({"PipelineDescription": description} if description else {}),
        )["PipelineArn"]
        return arn, "created", 1
    same = (
        fingerprint(deployed.definition) == new_sha
        and deployed.role_arn == role_arn
        and (description is None or deployed.description == description)
    )
    if same:
        return deployed.arn, "unchanged", None
    version = sm.update_pipeline(
        PipelineName=name,
        PipelineDefinition=body,
        RoleArn=role_arn,
        **({"PipelineDescription": description} if description else {}),
    ).get("PipelineVersionId")
    sm.add_tags(ResourceArn=deployed.arn, Tags=tags)
    return deployed.arn, "updated", version


def diff(deployed: Deployed | None, definition: dict, role_arn: str, description: str | None) -> str:
    """A unified diff of what an upsert would change, for --dry-run."""
    before = json.dumps(deployed.definition, indent=2, sort_keys=True) if deployed else ""
    after = json.dumps(definition, indent=2, sort_keys=True)
    lines = list(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            "deployed" if deployed else "(no pipeline yet)",
            "rendered",
            lineterm="",
        )
    )
    if deployed and deployed.role_arn != role_arn:
        lines.append(f"role: {deployed.role_arn} -> {role_arn}")
    if deployed and description is not None and deployed.description != description:
        lines.append(f"description: {deployed.description!r} -> {description!r}")
    return "\n".join(lines)


def request_token(pipeline_name: str) -> str:
    """Idempotency token: the same job attempt can never start a second execution."""
    run_id = os.environ.get("GITHUB_RUN_ID")
    if not run_id:
        return uuid.uuid4().hex
    attempt = os.environ.get("GITHUB_RUN_ATTEMPT", "1")
    job = os.environ.get("GITHUB_JOB", "")
    return hashlib.sha256(f"{pipeline_name}:{run_id}:{attempt}:{job}".encode()).hexdigest()


def start(sm, name: str, parameters: list[dict[str, str]], version: int | None = None) -> str:
    """Start an execution of pipeline version `version` (the newest when None). A build starts
    the version its upsert made, so that another build's update of the same pipeline in between
    cannot change what this execution runs."""
    request = {
        "PipelineName": name,
        "PipelineParameters": parameters,
        "ClientRequestToken": request_token(name),
    }
    if version is not None:
        request["PipelineVersionId"] = version
    run_url = gha.run_url()
    if run_url:
        request["PipelineExecutionDescription"] = f"Started by {run_url}"
    return sm.start_pipeline_execution(**request)["PipelineExecutionArn"]


def definition_run(sm, execution_arn: str, expected: dict) -> dict:
    """The definition an execution runs (DescribePipelineDefinitionForExecution): `expected` itself
    when it is that one; otherwise another build updated the pipeline between this build's read
    and its start: say so, and report what runs."""
    found = json.loads(sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=execution_arn)["PipelineDefinition"])
    if fingerprint(found) == fingerprint(expected):
        return expected
    gha.warning(
        f"execution {execution_arn} runs another definition than this build rendered: the pipeline was "
        "updated (by another build?) between this build's check and its start; the report below "
        "describes the definition that runs"
    )
    return found


# -- waiting and reporting -------------------------------------------------------------------


def steps(sm, execution_arn: str) -> list[dict]:
    """Every step so far, oldest first (the API's largest page: one call for up to 100 steps)."""
    found = []
    paginator = sm.get_paginator("list_pipeline_execution_steps")
    pages = paginator.paginate(
        PipelineExecutionArn=execution_arn, SortOrder="Ascending", PaginationConfig={"PageSize": 100}
    )
    for page in pages:
        found.extend(page["PipelineExecutionSteps"])
    return found


def step_seconds(step: dict) -> float | None:
    if step.get("StartTime") and step.get("EndTime"):
        return (step["EndTime"] - step["StartTime"]).total_seconds()
    return None


def wait(sm, execution_arn: str, timeout_seconds: float, types: dict[str, str]) -> tuple[dict, list[dict]]:
    """Poll until the execution ends, printing each step's transitions once.

    Each poll lists the steps, which is what the log shows. The execution is described only when
    no step is running (it may be over, or not yet under way) and every ten minutes (a safety
    net), so a poll during a long step costs one call, not two. Its end is confirmed by a
    describe, then the steps are listed once more so the result holds every step's final state.
    """
    seen: dict[str, str] = {}
    execution: dict = {"PipelineExecutionStatus": "Executing"}  # what a running step says
    described_at = time.monotonic()

    def listed() -> list[dict]:
        current = steps(sm, execution_arn)
        for step in current:
            status = step["StepStatus"]
            if seen.get(step["StepName"]) != status:
                seen[step["StepName"]] = status
                gha.log(_transition(step, types))
        return current

    def fetch():
        nonlocal execution, described_at
        current = listed()
        running = any(step["StepStatus"] in RUNNING_STEPS for step in current)
        if not running or time.monotonic() - described_at >= safety_net_seconds():
            execution = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
            described_at = time.monotonic()
            if execution["PipelineExecutionStatus"] in TERMINAL:
                current = listed()
        return execution, current

    return wait_for(
        fetch,
        lambda state: state[0]["PipelineExecutionStatus"] in TERMINAL,
        timeout_seconds=timeout_seconds,
        what="pipeline execution",
        status=lambda state: state[0]["PipelineExecutionStatus"],
    )


def _transition(step: dict, types: dict[str, str]) -> str:
    line = f"  step {step['StepName']} ({types.get(step['StepName'], 'step')}): {step['StepStatus']}"
    seconds = step_seconds(step)
    if seconds is not None:
        line += f" after {duration(seconds)}"
    if step.get("FailureReason"):
        line += f": {step['FailureReason']}"
    return line


def where_to_look(step: dict, region: str) -> str:
    """The job ARN, its CloudWatch log group and console links for a failed step."""
    metadata = step.get("Metadata") or {}
    for key, inner in metadata.items():
        arn = (inner or {}).get("Arn") if isinstance(inner, dict) else None
        if not arn:
            continue
        job = arn.rsplit("/", 1)[-1]
        if key in JOB_LOGS:
            group, console = JOB_LOGS[key]
            logs = (
                f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
                f"#logsV2:log-groups/log-group/{group.replace('/', '$252F')}"
                f"$3FlogStreamNameFilter$3D{job}"
            )
            return (
                f"{key} {arn}; logs: CloudWatch log group {group}, streams {job}/*\n"
                f"    job: {aws.console_url(region, f'{console}/{job}')}\n    logs: {logs}"
            )
        return f"{key} {arn}"
    return "no job was started for this step"


def registered_packages(step_list: list[dict]) -> list[str]:
    return [
        step["Metadata"]["RegisterModel"]["Arn"]
        for step in step_list
        if step.get("StepStatus") == "Succeeded"
        and (step.get("Metadata") or {}).get("RegisterModel", {}).get("Arn")
    ]


def stop(sm, execution_arn: str) -> None:
    sm.stop_pipeline_execution(PipelineExecutionArn=execution_arn, ClientRequestToken=uuid.uuid4().hex)
