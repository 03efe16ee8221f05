"""Pipeline executions that take time: steps run in dependency order, can fail, register models.

moto marks every execution `Succeeded` the moment it starts and has no steps. Here an execution
is a small simulation on the wall clock: each step starts when the steps it depends on have
succeeded and lasts `settings.step_seconds`. The simulation is advanced lazily, before every
SageMaker request, so its timeline does not depend on how often anyone polls.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.utils import arn_formatter

from smops import aws
from smops.emulator import events, registry
from smops.emulator.settings import settings
from smops.pipeline_graph import step_graph

# Step type → (key in ListPipelineExecutionSteps' Metadata, resource type in the job's ARN).
JOB_STEPS = {
    "Training": ("TrainingJob", "training-job"),
    "Processing": ("ProcessingJob", "processing-job"),
    "Transform": ("TransformJob", "transform-job"),
    "Tuning": ("TuningJob", "hyper-parameter-tuning-job"),
    "AutoML": ("AutoMLJob", "automl-job"),
    "Model": ("Model", "model"),
}
RUNNING = {"Executing", "Stopping"}
PROPERTY_FILE = re.compile(r"^Steps\.([^.]+)\.PropertyFiles\.(.+)$")
COMPARISONS = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}


class Unresolvable(Exception):
    """A value only a real run can know (a JsonGet on a property file)."""


@dataclass
class SimStep:
    name: str
    definition: dict[str, Any]
    depends_on: set[str]
    branch_of: tuple[str, bool] | None  # (condition step, outcome that enables this step)
    start: float | None = None
    end: float | None = None
    status: str | None = None
    failure_reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.definition.get("Type", "")

    def summary(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "StepName": self.name,
            "StartTime": self.start,
            "StepStatus": self.status,
            "AttemptCount": 1,
            "Metadata": self.metadata,
        }
        for key, out in (("DisplayName", "StepDisplayName"), ("Description", "StepDescription")):
            if self.definition.get(key):
                item[out] = self.definition[key]
        if self.status in {"Succeeded", "Failed", "Stopped"}:
            item["EndTime"] = self.end
        if self.failure_reason:
            item["FailureReason"] = self.failure_reason
        return item


class Execution:
    """The simulation attached to one moto FakePipelineExecution."""

    def __init__(self, execution: Any, definition: dict, parameters: dict[str, Any], backend: Any):
        self.moto = execution
        self.backend = backend
        self.definition = definition
        self.parameters = parameters
        self.started = time.time()
        self.stop_requested: float | None = None
        self.steps = {
            s.name: SimStep(s.name, s.definition, set(s.depends_on), s.branch_of) for s in step_graph(definition)
        }
        self.outcomes: dict[str, bool] = {}
        self.execution_id = execution.arn.rsplit("/", 1)[-1]
        self._set_status("Executing")

    # -- timeline ---------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        if self.moto.pipeline_execution_status in {"Succeeded", "Failed", "Stopped"}:
            return
        changed = True
        while changed:
            changed = self._finish_due(now) | self._start_ready(now)
        self._settle()

    def _first_failure(self) -> float | None:
        ends = [s.end for s in self.steps.values() if s.status == "Failed"]
        return min(ends) if ends else None

    def _start_ready(self, now: float) -> bool:
        halted_at = min(
            (t for t in (self._first_failure(), self.stop_requested) if t is not None),
            default=None,
        )
        started = False
        for step in self.steps.values():
            if step.status is not None or not self._enabled(step):
                continue
            deps = [self.steps[d] for d in step.depends_on if d in self.steps]
            if any(d.status != "Succeeded" for d in deps):
                continue
            at = max([self.started] + [d.end for d in deps])
            if at > now or (halted_at is not None and at >= halted_at):
                continue
            step.start, step.end, step.status = at, at + settings.step_seconds, "Executing"
            if step.type in JOB_STEPS:  # the job exists, and is named, from the moment it starts
                key, arn_type = JOB_STEPS[step.type]
                step.metadata = {key: {"Arn": self._job_arn(arn_type, step.name)}}
            started = True
        return started

    def _enabled(self, step: SimStep) -> bool:
        if step.branch_of is None:
            return True
        condition, outcome = step.branch_of
        return self.outcomes.get(condition) is outcome

    def _finish_due(self, now: float) -> bool:
        finished = False
        for step in self.steps.values():
            if step.status not in RUNNING:
                continue
            if self.stop_requested is not None and self.stop_requested < step.end:
                stopped_at = self.stop_requested + settings.step_seconds / 2
                if now < stopped_at:
                    step.status = "Stopping"
                    continue
                step.status, step.end = "Stopped", stopped_at
                step.failure_reason = "Execution was stopped."
                finished = True
            elif step.end <= now:
                self._complete(step)
                finished = True
        return finished

    def _settle(self) -> None:
        """At a fixed point with nothing running, nothing else can start: the run is over."""
        running = any(s.status in RUNNING for s in self.steps.values())
        if self.stop_requested is not None:
            self._set_status("Stopping" if running else "Stopped")
        elif not running:
            if any(s.status == "Failed" for s in self.steps.values()):
                self._set_status("Failed", "Step failure: One or multiple steps failed.")
            else:
                self._set_status("Succeeded")

    def _set_status(self, status: str, reason: str | None = None) -> None:
        self.moto.pipeline_execution_status = status
        self.moto.pipeline_execution_failure_reason = reason
        self.moto.last_modified_time = _moto_now()

    # -- what each kind of step does ----------------------------------------------------------

    def _complete(self, step: SimStep) -> None:
        reason = settings.fail_steps.get(step.name)
        if step.type == "Fail":
            try:
                reason = str(self.resolve((step.definition.get("Arguments") or {}).get("ErrorMessage", "")))
            except Unresolvable:
                reason = "Fail step reached"
            step.metadata = {"Fail": {"ErrorMessage": reason}}
        elif step.type == "Condition":
            outcome = self._evaluate(step)
            self.outcomes[step.name] = outcome
            step.metadata = {"Condition": {"Outcome": "True" if outcome else "False"}}
        elif step.type == "RegisterModel" and not reason:
            step.metadata = {"RegisterModel": {"Arn": self._register(step)}}
        if not reason:
            for property_file in step.definition.get("PropertyFiles") or []:
                uri = self._property_file_uri(step.name, property_file["PropertyFileName"])
                _write_s3(self.backend, uri, json.dumps(settings.evaluation_report, indent=2))
            outputs = ((step.definition.get("Arguments") or {}).get("ProcessingOutputConfig") or {}).get("Outputs") or []
            for output in outputs:
                if output.get("OutputName") in settings.processing_outputs:
                    folder = str(self.resolve((output.get("S3Output") or {}).get("S3Uri", ""))).rstrip("/")
                    name = output["OutputName"]
                    _write_s3(self.backend, f"{folder}/{name}.csv", settings.processing_outputs[name])
        step.status = "Failed" if reason else "Succeeded"
        step.failure_reason = reason or None

    def job_name(self, step_name: str) -> str:
        """Pipelines name jobs pipelines-<execution id>-<step>-<suffix>, within 63 characters."""
        return f"pipelines-{self.execution_id}-{step_name}"[:52] + "-a1b2c3d4e5"

    def training_job(self, name: str) -> dict | None:
        """DescribeTrainingJob of this execution's training job `name`: its arguments, resolved."""
        for step in self.steps.values():
            if step.type == "Training" and step.status and self.job_name(step.name).lower() == name.lower():
                arguments = self.resolve(step.definition.get("Arguments") or {})
                status = {"Executing": "InProgress", "Succeeded": "Completed"}.get(step.status, step.status)
                return {
                    **{k: arguments[k] for k in ("AlgorithmSpecification", "RoleArn", "InputDataConfig",
                                                 "OutputDataConfig", "ResourceConfig", "HyperParameters")
                       if k in arguments},
                    "TrainingJobName": self.job_name(step.name).lower(),
                    "TrainingJobArn": self._job_arn("training-job", step.name),
                    "TrainingJobStatus": status,
                    "SecondaryStatus": status,
                    "ModelArtifacts": {"S3ModelArtifacts": self._step_property(
                        f"Steps.{step.name}.ModelArtifacts.S3ModelArtifacts")},
                    "StoppingCondition": arguments.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
                    "CreationTime": step.start,
                    "PipelineExecutionArn": self.moto.arn,
                }
        return None

    def _job_arn(self, arn_type: str, step_name: str) -> str:
        return arn_formatter(
            arn_type, self.job_name(step_name).lower(), self.backend.account_id, self.backend.region_name
        )

    def _evaluate(self, step: SimStep) -> bool:
        """All conditions must hold; what emulation cannot know takes the configured branch."""
        try:
            conditions = (step.definition.get("Arguments") or {}).get("Conditions") or []
            return all(self._condition(c) for c in conditions)
        except (Unresolvable, TypeError, ValueError):
            return settings.condition_outcomes.get(step.name, True)

    def _condition(self, condition: dict) -> bool:
        kind = condition.get("Type")
        if kind in COMPARISONS:
            left = self.resolve(condition.get("LeftValue"))
            right = self.resolve(condition.get("RightValue"))
            return COMPARISONS[kind](left, right)
        if kind == "Not":
            return not self._condition(condition["Expression"])
        if kind == "Or":
            return any(self._condition(c) for c in condition.get("Conditions") or [])
        if kind == "In":
            return self.resolve(condition.get("QueryValue")) in [
                self.resolve(v) for v in condition.get("Values") or []
            ]
        raise Unresolvable(kind)

    def _register(self, step: SimStep) -> str:
        arguments = self.resolve(step.definition.get("Arguments") or {})
        group = arguments.get("ModelPackageGroupName")
        if group not in self.backend.model_package_groups:
            # A RegisterModel step creates its model package group when it is missing.
            self.backend.create_model_package_group(group, None, None)
        metadata = dict(arguments.get("MetadataProperties") or {})
        metadata.setdefault("GeneratedBy", self.moto.arn)
        arn = self.backend.create_model_package(
            model_package_name=None,
            model_package_group_name=group,
            model_package_description=arguments.get("ModelPackageDescription"),
            inference_specification=arguments.get("InferenceSpecification"),
            validation_specification=arguments.get("ValidationSpecification"),
            source_algorithm_specification=arguments.get("SourceAlgorithmSpecification"),
            certify_for_marketplace=arguments.get("CertifyForMarketplace", False),
            tags=arguments.get("Tags"),
            model_approval_status=arguments.get("ModelApprovalStatus") or "PendingManualApproval",
            metadata_properties=metadata,
            model_metrics=arguments.get("ModelMetrics"),
            client_token=None,
            customer_metadata_properties=arguments.get("CustomerMetadataProperties"),
            drift_check_baselines=arguments.get("DriftCheckBaselines"),
            domain=arguments.get("Domain"),
            task=arguments.get("Task"),
            sample_payload_url=arguments.get("SamplePayloadUrl"),
            additional_inference_specifications=arguments.get("AdditionalInferenceSpecifications"),
        )
        package = self.backend.model_packages[arn]
        # The RegisterModel step runs as the pipeline's role (the session name is the emulator's).
        role_name = self.backend.pipelines[self.moto.arn.split("/")[1]].role_arn.rsplit("/", 1)[-1]
        session = f"arn:aws:sts::{self.backend.account_id}:assumed-role/{role_name}/SageMaker"
        package.created_by = registry.user_context(session, "AROAEMULATOR:SageMaker")
        events.model_package_state_change(self.backend, package)
        return arn

    # -- expressions --------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Evaluate the definition's expressions (Get, Std:Join) against this execution."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self._get(value["Get"])
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return str(join.get("On", "")).join(str(self.resolve(v)) for v in join.get("Values", []))
        if set(value) == {"Std:JsonGet"}:
            return self._json_get(value["Std:JsonGet"])
        return {key: self.resolve(inner) for key, inner in value.items()}

    def _get(self, path: str) -> Any:
        if path.startswith("Parameters."):
            return self.parameters[path.split(".", 1)[1]]
        if path.startswith("Execution."):
            return {
                "Execution.PipelineExecutionId": self.execution_id,
                "Execution.PipelineExecutionArn": self.moto.arn,
                "Execution.PipelineName": self.moto.arn.split("/")[1],
            }.get(path, f"{path}-{self.execution_id}")
        if path.startswith("Steps."):
            return self._step_property(path)
        raise Unresolvable(path)

    def _property_file_uri(self, step_name: str, file_name: str) -> str | None:
        """Where a step's property file is: its processing output's S3 URI plus the file's path."""
        step = self.steps.get(step_name)
        definition = step.definition if step else {}
        found = next((f for f in definition.get("PropertyFiles") or [] if f.get("PropertyFileName") == file_name), None)
        outputs = ((definition.get("Arguments") or {}).get("ProcessingOutputConfig") or {}).get("Outputs") or []
        output = next((o for o in outputs if found and o.get("OutputName") == found.get("OutputName")), None)
        if not output:
            return None
        return f"{str(self.resolve(output['S3Output']['S3Uri'])).rstrip('/')}/{found['FilePath']}"

    def _json_get(self, spec: dict) -> Any:
        """A value from a JSON file in S3: a step's property file, or an S3 URI."""
        source = spec.get("PropertyFile")
        match = PROPERTY_FILE.match(str(source.get("Get", ""))) if isinstance(source, dict) else None
        if match:
            uri = self._property_file_uri(*match.groups())
        else:
            uri = self.resolve(spec.get("S3Uri"))
        found = _walk(_read_s3(self.backend, uri), str(spec.get("Path", ""))) if uri else None
        if found is None:
            raise Unresolvable(f"Std:JsonGet {spec.get('Path')}")
        return found

    def _step_property(self, path: str) -> Any:
        """A property of a finished step: read back from its arguments where they say it."""
        _, step_name, rest = path.split(".", 2)
        step = self.steps.get(step_name)
        arguments = step.definition.get("Arguments") if step else None
        if rest == "ModelArtifacts.S3ModelArtifacts" and arguments:
            output = self.resolve((arguments.get("OutputDataConfig") or {}).get("S3OutputPath", ""))
            return f"{str(output).rstrip('/')}/{self.job_name(step_name)}/output/model.tar.gz"
        found = _walk(arguments, rest)
        if found is not None:
            return self.resolve(found)
        if rest.startswith("PropertyFiles"):
            raise Unresolvable(path)
        return f"s3://smops-emulator/{self.execution_id}/{step_name}/{rest}"


def _walk(value: Any, path: str) -> Any:
    """Follow Outputs['name'].S3Output.S3Uri through a step's arguments; None when absent."""
    for part in re.findall(r"[^.\[\]]+|\['[^']*'\]|\[\d+\]", path):
        if part.startswith("['"):
            name = part[2:-2]
            value = next(
                (item for item in value or [] if isinstance(item, dict)
                 and name in [v for k, v in item.items() if k.endswith("Name")]),
                None,
            ) if isinstance(value, list) else None
        elif part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def _write_s3(sagemaker_backend, uri: str | None, text: str) -> None:
    """Put a file into the emulator's S3, creating the bucket as a job's role could not."""
    from moto.s3.models import s3_backends

    if not uri or not uri.startswith("s3://"):
        return
    bucket, key = aws.split_s3_uri(uri)
    s3 = s3_backends[sagemaker_backend.account_id]["aws"]
    if bucket not in s3.buckets:
        s3.create_bucket(bucket, sagemaker_backend.region_name)
    s3.put_object(bucket, key, text.encode())


def _read_s3(sagemaker_backend, uri: str) -> Any:
    from moto.s3.models import s3_backends

    bucket, key = aws.split_s3_uri(str(uri))
    s3 = s3_backends[sagemaker_backend.account_id]["aws"]
    found = s3.get_object(bucket, key) if bucket in s3.buckets else None
    return json.loads(found.value) if found else None


def _moto_now():
    from moto.core.utils import utcnow

    return utcnow()


def typed_parameters(definition: dict, given: list[dict] | None) -> dict[str, Any]:
    """The execution's parameter values: defaults overlaid with what StartPipelineExecution sent."""
    declared = {p["Name"]: p for p in definition.get("Parameters") or []}
    values = {name: p.get("DefaultValue") for name, p in declared.items()}
    for item in given or []:
        name = item.get("Name")
        if name not in declared:
            raise ValidationError(
                f"Parameter '{name}' is not defined in the pipeline definition. "
                f"Defined parameters: {', '.join(sorted(declared)) or 'none'}"
            )
        kind = declared[name].get("Type", "String")
        raw = item.get("Value")
        try:
            values[name] = {"Integer": int, "Float": float}.get(kind, str)(raw)
        except ValueError:
            raise ValidationError(f"Parameter '{name}' value '{raw}' is not of type {kind}")
        if kind == "Boolean":
            values[name] = str(raw).lower() == "true"
    return values
