"""What a test or the demo can tune in the emulator: durations, failures, branches."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def regression_report(mse: float, mae: float, r2: float) -> dict:
    """An evaluation report in SageMaker's model quality shape for regression, as the example's
    examples/code/evaluate.py writes it."""
    return {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": round(mse / 20, 4)},
            "rmse": {"value": round(math.sqrt(mse), 4)},
            "mae": {"value": mae},
            "r2": {"value": r2},
        }
    }


@dataclass
class Settings:
    # Simulated duration of each pipeline step, in seconds.
    step_seconds: float = 1.0
    # Step name → failure reason: that step fails instead of succeeding.
    fail_steps: dict[str, str] = field(default_factory=dict)
    # Condition step name → branch to take when its conditions cannot be evaluated here
    # (a JsonGet on a property file). The default is the IfSteps (True).
    condition_outcomes: dict[str, bool] = field(default_factory=dict)
    # What a finished step writes to each of its property files (the example pipeline's
    # evaluation.json, which its condition reads and its ModelMetrics point to).
    evaluation_report: dict = field(default_factory=lambda: regression_report(mse=4.62, mae=1.53, r2=0.556))
    # Processing output name → the CSV a finished processing step writes there (as <name>.csv), in
    # place of a container's work: e.g. the "train" split that `smops build` baselines for drift.
    processing_outputs: dict[str, str] = field(default_factory=dict)
    # How long an endpoint stays Creating, and an update provisions its new fleet, in seconds.
    endpoint_seconds: float = 1.0
    # Endpoint name → reason: creating it ends Failed, updating it fails and rolls back.
    fail_endpoints: dict[str, str] = field(default_factory=dict)
    # Real seconds per simulated second of a deployment's waits (a 300 s bake lasts 3 s).
    time_scale: float = 0.01
    # Endpoint name → what InvokeEndpoint answers: a body, a (status, message) model error, a delay.
    invoke_responses: dict[str, str] = field(default_factory=dict)
    invoke_failures: dict[str, tuple[int, str]] = field(default_factory=dict)
    invoke_latency_ms: dict[str, float] = field(default_factory=dict)
    # Endpoint name → reason: when an update of it fails, the rollback fails too (UpdateRollbackFailed).
    fail_rollbacks: dict[str, str] = field(default_factory=dict)
    # Throttles, 5xx and dropped connections to answer instead of moto (faults.Fault, in order).
    faults: list = field(default_factory=list)
    # Requests and endpoint updates kept waiting until a test releases them (faults.Hold).
    holds: list = field(default_factory=list)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


settings = Settings()
