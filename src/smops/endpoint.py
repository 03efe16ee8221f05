"""Reading endpoints: status, the model package they serve, and waiting for them to settle."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from smops import aws, gha
from smops.errors import BadInput, TimedOut
from smops.waiting import PollingFailed, wait_for

SETTLING = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"


def check_name(name: str) -> None:
    if not re.match(NAME_PATTERN, name):
        raise BadInput(
            f"endpoint name {name!r} is not valid",
            "use up to 63 letters, digits and hyphens, starting with a letter or digit",
        )


def describe(sm, name: str) -> dict | None:
    return aws.found(sm.describe_endpoint, EndpointName=name)


def serving_model(sm, config_name: str) -> dict | None:
    """The Model behind an endpoint config's first variant, described.

    None when there is none, or when the config or model was deleted while the endpoint runs it
    (SageMaker allows that).
    """
    config = aws.found(sm.describe_endpoint_config, EndpointConfigName=config_name)
    return config_model(sm, config) if config else None


def config_model(sm, config: dict) -> dict | None:
    """The Model behind a described endpoint config's first variant; None when there is none."""
    variants = config.get("ProductionVariants") or []
    return aws.found(sm.describe_model, ModelName=variants[0]["ModelName"]) if variants else None


def model_package(model: dict | None) -> str | None:
    """The model package a Model's container was made from."""
    containers = [model.get("PrimaryContainer")] + (model.get("Containers") or []) if model else []
    return next((c["ModelPackageName"] for c in containers if c and c.get("ModelPackageName")), None)


def config_package(sm, config_name: str) -> str | None:
    """The model package an endpoint config serves, None when it cannot be told."""
    return model_package(serving_model(sm, config_name))


def pending(found: dict) -> str | None:
    """The config an update in progress deploys (DescribeEndpoint's PendingDeploymentSummary)."""
    return (found.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")


def settled(found: dict) -> bool:
    return found["EndpointStatus"] not in SETTLING


def wait(sm, name: str, timeout_seconds: float, done: Callable[[dict], bool] = settled) -> dict:
    """Poll until `done` (by default: the endpoint left Creating/Updating/RollingBack), printing
    each change of status or of the config being deployed."""
    seen: list[tuple[str, str | None]] = []

    def fetch():
        found = sm.describe_endpoint(EndpointName=name)
        state = (found["EndpointStatus"], pending(found))
        if not seen or seen[-1] != state:
            seen.append(state)
            gha.log(f"  endpoint {name}: {state[0]}" + (f" (deploying {state[1]})" if state[1] else ""))
        return found

    return wait_for(
        fetch,
        done,
        timeout_seconds=timeout_seconds,
        what=f"endpoint {name}",
        status=lambda found: found["EndpointStatus"],
    )


def wait_settled(sm, name: str, deadline: float, outputs: dict, done: Callable[[dict], bool] = settled) -> dict:
    """`wait` in a log group, until the monotonic deadline; a timeout says how to follow on."""
    with gha.group(f"Wait for endpoint {name}"):
        try:
            return wait(sm, name, max(deadline - time.monotonic(), 0), done)
        except (TimedOut, PollingFailed) as exc:
            exc.fix = (
                f"the deployment goes on in SageMaker; watch it with "
                f"`aws sagemaker describe-endpoint --endpoint-name {name}`, "
                "or re-run this command to wait for it again"
            )
            exc.outputs = outputs
            raise
