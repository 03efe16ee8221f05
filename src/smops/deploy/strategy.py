"""How an existing endpoint moves to a new config: UpdateEndpoint's DeploymentConfig.

Everything the API would reject is refused here first, with the API's documented ranges, so a
bad combination fails before any Model or EndpointConfig is created.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smops.errors import BadInput

BLUE_GREEN = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
SERVERLESS_MEMORY = range(1024, 6145, 1024)
DEFAULT_WAIT = 300
# What UpdateEndpoint does when given no DeploymentConfig.
DEFAULT_UPDATE = "SageMaker's default: blue/green, all at once, no bake, no rollback alarms"


@dataclass(frozen=True)
class Strategy:
    name: str  # all-at-once | canary | linear | rolling
    canary_size: int = 10
    linear_step: int = 20
    batch_size: int = 25
    wait_interval: int | None = None  # DEFAULT_WAIT when a bake is needed
    termination_wait: int = 0
    max_execution_timeout: int | None = None
    alarms: tuple[str, ...] = ()

    @property
    def bake(self) -> int:
        return DEFAULT_WAIT if self.wait_interval is None else self.wait_interval

    def check(self, serverless: bool) -> None:
        """Refuse what UpdateEndpoint would refuse."""
        _within("--wait-interval", self.bake, 0, 3600, "seconds")
        _within("--termination-wait", self.termination_wait, 0, 3600, "seconds")
        if self.name == "canary":
            _within("--canary-size", self.canary_size, 1, 50, "percent")
        if self.name == "linear":
            _within("--linear-step", self.linear_step, 10, 50, "percent")
        if self.name == "rolling":
            _within("--batch-size", self.batch_size, 5, 50, "percent")
        if len(self.alarms) > 10:
            raise BadInput(f"{len(self.alarms)} rollback alarms given", "SageMaker takes at most 10")
        if self.max_execution_timeout is not None:
            _within("--max-execution-timeout", self.max_execution_timeout, 600, 28800, "seconds")
            if self.max_execution_timeout <= self.total_wait():
                raise BadInput(
                    f"--max-execution-timeout {self.max_execution_timeout}s is not more than the "
                    f"{self.total_wait()}s of waits this {self.name} deployment bakes",
                    "raise --max-execution-timeout or shorten --wait-interval/--termination-wait",
                )
        if serverless and (self.name != "all-at-once" or self.alarms):
            raise BadInput(
                f"serverless endpoints do not take {'rollback alarms' if self.alarms else self.name} deployments",
                "use --strategy all-at-once without --alarm/--create-alarms, or deploy on instances",
            )

    def total_wait(self) -> int:
        """Seconds of baking the deployment will spend, before the final termination wait."""
        steps = {
            "linear": math.ceil(100 / self.linear_step),
            "rolling": math.ceil(100 / self.batch_size),
        }.get(self.name, 1)
        return steps * self.bake + self.termination_wait

    def deployment_config(self) -> dict | None:
        """The DeploymentConfig for UpdateEndpoint; None leaves SageMaker's default.

        That default is blue/green all at once with no bake: the same as an all-at-once strategy
        without alarms or waits, which would otherwise bake 300 s for nothing to watch.
        """
        plain = (
            self.name == "all-at-once"
            and not self.alarms
            and self.wait_interval is None
            and not self.termination_wait
            and self.max_execution_timeout is None
        )
        if plain:
            return None
        if self.name == "rolling":
            config: dict = {
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": self.batch_size},
                    "WaitIntervalInSeconds": self.bake,
                }
            }
            policy = config["RollingUpdatePolicy"]
        else:
            routing: dict = {"Type": BLUE_GREEN[self.name], "WaitIntervalInSeconds": self.bake}
            if self.name == "canary":
                routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": self.canary_size}
            if self.name == "linear":
                routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": self.linear_step}
            config = {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": routing,
                    "TerminationWaitInSeconds": self.termination_wait,
                }
            }
            policy = config["BlueGreenUpdatePolicy"]
        if self.max_execution_timeout is not None:
            policy["MaximumExecutionTimeoutInSeconds"] = self.max_execution_timeout
        if self.alarms:
            config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in self.alarms]}
        return config

    def shape(self) -> str:
        """How traffic moves, in a few words."""
        return {
            "all-at-once": "blue/green, all at once",
            "canary": f"blue/green canary {self.canary_size}%",
            "linear": f"blue/green linear {self.linear_step}% steps",
            "rolling": f"rolling {self.batch_size}% batches",
        }[self.name]

    def describe(self) -> str:
        """One line for logs and the summary."""
        if self.deployment_config() is None:
            return DEFAULT_UPDATE
        rollback = f"auto-rollback on {', '.join(self.alarms)}" if self.alarms else "no rollback alarms"
        return f"{self.shape()}, bake {self.bake}s, {rollback}"


def fallback_warnings(strategy: Strategy, instance_type: str) -> list[str]:
    """Where SageMaker's deployment guardrails will not do what was asked (documented exclusions)."""
    warnings = []
    shifting = strategy.name in {"canary", "linear", "rolling"}
    if shifting and instance_type.startswith("ml.inf1."):
        warnings.append(
            f"{instance_type} (Inf1) endpoints are excluded from deployment guardrails: SageMaker "
            f"will shift all traffic at once with no final bake instead of the {strategy.name} asked for"
        )
    if shifting and not strategy.alarms:
        warnings.append(
            f"{strategy.name} without rollback alarms bakes but can never roll back: "
            "pass --alarm NAME or --create-alarms"
        )
    return warnings


def check_serverless(memory_mb: int, max_concurrency: int) -> None:
    if memory_mb not in SERVERLESS_MEMORY:
        raise BadInput(
            f"--serverless-memory-mb {memory_mb} is not allowed",
            "use 1024, 2048, 3072, 4096, 5120 or 6144",
        )
    _within("--serverless-max-concurrency", max_concurrency, 1, 200, "invocations")


def _within(flag: str, value: int, low: int, high: int, unit: str) -> None:
    if not low <= value <= high:
        raise BadInput(f"{flag} {value} is outside {low}-{high} {unit}", f"pick a value from {low} to {high}")
