"""The SageMaker operations the emulator adds to, or corrects in, moto's response class."""

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


def patch(response_class) -> None:
    original_start = response_class.start_pipeline_execution
    original_describe = response_class.describe_pipeline_execution

    def start_pipeline_execution(self):
        """Idempotent on ClientRequestToken, parameters checked, and a simulated run."""
        backend = self.sagemaker_backend
        pipeline = get_pipeline_from_name(backend.pipelines, self._get_param("PipelineName"))
        token = self._get_param("ClientRequestToken")
        for execution in pipeline.pipeline_executions.values():
            if token and execution.client_request_token == token:
                return ActionResult({"PipelineExecutionArn": execution.arn})
        definition = json.loads(pipeline.pipeline_definition or "{}")
        parameters = typed_parameters(definition, self._get_param("PipelineParameters"))
        result = original_start(self)
        execution = pipeline.pipeline_executions[result.result["PipelineExecutionArn"]]
        execution.smops = Execution(execution, definition, parameters, backend)
        return result

    def describe_pipeline_execution(self):
        result = original_describe(self)
        execution = get_pipeline_execution_from_arn(
            self.sagemaker_backend.pipelines, self._get_param("PipelineExecutionArn")
        )
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
        start_pipeline_execution,
        describe_pipeline_execution,
        list_pipeline_execution_steps,
        stop_pipeline_execution,
    ):
        setattr(response_class, function.__name__, function)
