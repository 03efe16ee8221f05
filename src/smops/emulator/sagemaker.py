"""The SageMaker operations the emulator adds to, or corrects in, moto's response class.

Pipeline versions, as SageMaker keeps them ("Each time you update a pipeline definition,
Pipelines creates a new pipeline version with a numeric version ID", version 1 at creation):
UpdatePipeline answers the new PipelineVersionId, DescribePipeline and StartPipelineExecution
take one, and an execution runs, and reports (DescribePipelineExecution's PipelineVersionId,
DescribePipelineDefinitionForExecution), the version it was started on, whatever updates follow.
"""

from __future__ import annotations

import json
import time

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.utils import get_pipeline_execution_from_arn, get_pipeline_from_name

from smops.emulator.pipelines import Execution, typed_parameters


def advance(backend) -> None:
    """Move every running simulation in this account and region up to now."""
    now = time.time()
    for pipeline in backend.pipelines.values():
        for execution in pipeline.pipeline_executions.values():
            simulation = getattr(execution, "smops", None)
            if simulation:
                simulation.advance(now)


def paged(response, key: str, items: list, default_size: int) -> ActionResult:
    """One page of `items` under `key`, as SageMaker's List calls page them (MaxResults, NextToken)."""
    start = int(response._get_param("NextToken") or 0)
    size = int(response._get_param("MaxResults") or default_size)
    page = {key: items[start : start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return ActionResult(page)


def _versions(pipeline) -> list[str]:
    """Every definition the pipeline has had; version N is the Nth."""
    if not hasattr(pipeline, "smops_versions"):
        pipeline.smops_versions = [pipeline.pipeline_definition]
    return pipeline.smops_versions


def _version(pipeline, version_id) -> tuple[int, str]:
    versions = _versions(pipeline)
    number = int(version_id) if version_id is not None else len(versions)
    if not 1 <= number <= len(versions):
        raise ValidationError(f"Pipeline version {version_id} of {pipeline.arn} does not exist.")
    return number, versions[number - 1]


def patch(response_class) -> None:
    original_start = response_class.start_pipeline_execution
    original_describe = response_class.describe_pipeline_execution
    original_update = response_class.update_pipeline
    original_describe_pipeline = response_class.describe_pipeline

    def update_pipeline(self):
        pipeline = get_pipeline_from_name(self.sagemaker_backend.pipelines, self._get_param("PipelineName"))
        versions = _versions(pipeline)
        result = original_update(self)
        if self._get_param("PipelineDefinition") or self._get_param("PipelineDefinitionS3Location"):
            versions.append(pipeline.pipeline_definition)
        result.result["PipelineVersionId"] = len(versions)
        return result

    def describe_pipeline(self):
        result = original_describe_pipeline(self)
        pipeline = get_pipeline_from_name(self.sagemaker_backend.pipelines, self._get_param("PipelineName"))
        result.result["PipelineDefinition"] = _version(pipeline, self._get_param("PipelineVersionId"))[1]
        return result

    def start_pipeline_execution(self):
        """Idempotent on ClientRequestToken, parameters checked, a simulated run of one version."""
        backend = self.sagemaker_backend
        pipeline = get_pipeline_from_name(backend.pipelines, self._get_param("PipelineName"))
        token = self._get_param("ClientRequestToken")
        for execution in pipeline.pipeline_executions.values():
            if token and execution.client_request_token == token:
                return ActionResult({"PipelineExecutionArn": execution.arn})
        number, body = _version(pipeline, self._get_param("PipelineVersionId"))
        definition = json.loads(body or "{}")
        parameters = typed_parameters(definition, self._get_param("PipelineParameters"))
        result = original_start(self)
        execution = pipeline.pipeline_executions[result.result["PipelineExecutionArn"]]
        execution.pipeline_definition_for_execution = body
        execution.smops_version = number
        execution.smops = Execution(execution, definition, parameters, backend)
        return result

    def describe_pipeline_execution(self):
        result = original_describe(self)
        execution = get_pipeline_execution_from_arn(
            self.sagemaker_backend.pipelines, self._get_param("PipelineExecutionArn")
        )
        if hasattr(execution, "smops_version"):
            result.result["PipelineVersionId"] = execution.smops_version
        reason = execution.pipeline_execution_failure_reason
        result.result["FailureReason"] = reason or ""
        if not reason:
            del result.result["FailureReason"]
        return result

    def list_pipeline_execution_steps(self):
        execution = get_pipeline_execution_from_arn(
            self.sagemaker_backend.pipelines, self._get_param("PipelineExecutionArn")
        )
        simulation = getattr(execution, "smops", None)
        steps = [s.summary() for s in simulation.steps.values() if s.status] if simulation else []
        steps.sort(
            key=lambda s: (s["StartTime"], s["StepName"]),
            reverse=self._get_param("SortOrder", "Descending") == "Descending",
        )
        return paged(self, "PipelineExecutionSteps", steps, 20)

    original_describe_training_job = response_class.describe_training_job

    def describe_training_job(self):
        """A pipeline's training jobs too (moto knows only those CreateTrainingJob made)."""
        name = self._get_param("TrainingJobName") or ""
        for pipeline in self.sagemaker_backend.pipelines.values():
            for execution in pipeline.pipeline_executions.values():
                simulation = getattr(execution, "smops", None)
                found = simulation.training_job(name) if simulation else None
                if found:
                    return ActionResult(found)
        return original_describe_training_job(self)

    def stop_pipeline_execution(self):
        arn = self._get_param("PipelineExecutionArn")
        execution = get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)
        simulation = getattr(execution, "smops", None)
        if simulation is None or execution.pipeline_execution_status not in {"Executing"}:
            raise ValidationError(
                f"Pipeline execution with ARN {arn} is in status "
                f"{execution.pipeline_execution_status} and cannot be stopped."
            )
        simulation.stop_requested = time.time()
        simulation.advance(time.time())
        return ActionResult({"PipelineExecutionArn": arn})

    for function in (
        update_pipeline,
        describe_pipeline,
        start_pipeline_execution,
        describe_pipeline_execution,
        list_pipeline_execution_steps,
        describe_training_job,
        stop_pipeline_execution,
    ):
        setattr(response_class, function.__name__, function)
