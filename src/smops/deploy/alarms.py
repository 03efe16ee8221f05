"""CloudWatch alarms that roll a deployment back: create the standard pair, check, read state."""

from __future__ import annotations

from smops.errors import BadInput

NAMESPACE = "AWS/SageMaker"


def names(endpoint: str, variant: str) -> tuple[str, str]:
    """Named after the endpoint, so a role scoped to the endpoint's name prefix can manage them."""
    return f"{endpoint}-{variant}-5xx-errors", f"{endpoint}-{variant}-p99-model-latency"


def create(cw, endpoint: str, variant: str, latency_ms: int, tags: list[dict]) -> list[str]:
    """Create or update a 5XX-errors alarm and a p99 model-latency alarm on the variant."""
    errors, latency = names(endpoint, variant)
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
    ]
    common = {
        "Namespace": NAMESPACE,
        "Dimensions": dimensions,
        "Period": 60,
        "TreatMissingData": "notBreaching",
        "Tags": tags,
    }
    cw.put_metric_alarm(
        AlarmName=errors,
        AlarmDescription=f"{endpoint}/{variant} returns 5XX errors; smops deployments roll back on it",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        **common,
    )
    cw.put_metric_alarm(
        AlarmName=latency,
        AlarmDescription=f"{endpoint}/{variant} p99 model latency above {latency_ms} ms",
        MetricName="ModelLatency",  # reported in microseconds
        ExtendedStatistic="p99",
        EvaluationPeriods=2,
        Threshold=latency_ms * 1000,
        ComparisonOperator="GreaterThanThreshold",
        **common,
    )
    return [errors, latency]


def check_exist(found: dict[str, str], alarm_names: list[str]) -> None:
    """UpdateEndpoint needs its rollback alarms to exist; say which of `alarm_names` are not among
    the alarms `states` found, before any change."""
    missing = [n for n in alarm_names if n not in found]
    if missing:
        raise BadInput(
            f"rollback alarm(s) {', '.join(missing)} do not exist",
            "create them first, or use --create-alarms for the standard pair",
        )


def states(cw, alarm_names: list[str]) -> dict[str, str]:
    """The state (OK, ALARM, INSUFFICIENT_DATA) of each alarm that exists."""
    if not alarm_names:
        return {}
    return {a["AlarmName"]: a["StateValue"] for a in cw.describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]}


def in_alarm(cw, alarm_names: list[str]) -> list[str]:
    """'name: reason' for each alarm now in ALARM."""
    if not alarm_names:
        return []
    alarms = cw.describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]
    return [f"{a['AlarmName']}: {a.get('StateReason', '')}" for a in alarms if a["StateValue"] == "ALARM"]
