"""Application Auto Scaling around deploys: register a variant, and keep its scaling through updates.

What AWS documents (developer guide, "Update endpoints that use auto scaling"): UpdateEndpoint
fails when it would change the instance type of a variant registered as a scalable target (or
remove it), so the policies must be deleted and the target deregistered first, and registered
again after; a change of model alone is allowed with the registration in place, and automatic
scaling is blocked while the update runs. Without RetainAllVariantProperties the new fleet starts
with the new config's InitialInstanceCount; with it, with the variant's current
DesiredInstanceCount. So an update of a scaled variant retains the variant properties (the new
fleet starts with the capacity the old one had) and, for an instance-type change, suspends the
registration around the update and restores it after, whatever the outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from smops.errors import BadInput

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC = "SageMakerVariantInvocationsPerInstance"
POLICY_NAME = "smops-invocations-per-instance"
DEFAULT_COOLDOWN = 300  # Application Auto Scaling's default for SageMaker variants, both ways


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


@dataclass(frozen=True)
class Scaling:
    """What --autoscaling-* asks for: capacity limits and one target-tracking policy."""

    min_capacity: int
    max_capacity: int
    target: float  # invocations per instance per minute
    scale_in_cooldown: int = DEFAULT_COOLDOWN
    scale_out_cooldown: int = DEFAULT_COOLDOWN

    def policy(self) -> dict:
        return {
            "PolicyName": POLICY_NAME,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": float(self.target),
                "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
                "ScaleInCooldown": self.scale_in_cooldown,
                "ScaleOutCooldown": self.scale_out_cooldown,
            },
        }


@dataclass(frozen=True)
class Registration:
    """A variant's scalable target and its policies, as read back (or as asked for)."""

    min_capacity: int
    max_capacity: int
    policies: tuple[dict, ...] = field(default=())
    suspended: dict | None = None

    def describe(self) -> str:
        parts = [f"{self.min_capacity}-{self.max_capacity} instances"]
        for policy in self.policies:
            tracking = policy.get("TargetTrackingScalingPolicyConfiguration")
            if tracking and "PredefinedMetricSpecification" in tracking:
                metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
                parts.append(
                    f"{policy['PolicyName']}: {metric} {tracking['TargetValue']:g}, cooldowns "
                    f"in {tracking.get('ScaleInCooldown', DEFAULT_COOLDOWN)}s/out "
                    f"{tracking.get('ScaleOutCooldown', DEFAULT_COOLDOWN)}s"
                )
            else:
                parts.append(f"{policy['PolicyName']} ({policy['PolicyType']})")
        return "; ".join(parts)

    def same_as(self, other: Registration | None) -> bool:
        """The same limits and policies, whatever defaults AWS spells out when describing them."""
        return other is not None and self._key() == other._key()

    def _key(self) -> tuple:
        def canonical(policy: dict) -> str:
            config = dict(policy.get("TargetTrackingScalingPolicyConfiguration") or {})
            if config:
                config["TargetValue"] = float(config["TargetValue"])
                if not config.get("DisableScaleIn"):
                    config.pop("DisableScaleIn", None)
                policy = {**policy, "TargetTrackingScalingPolicyConfiguration": config}
            return json.dumps(policy, sort_keys=True, default=str)

        return self.min_capacity, self.max_capacity, sorted(canonical(p) for p in self.policies), self.suspended

    def as_dict(self) -> dict:
        return {"min": self.min_capacity, "max": self.max_capacity, "policies": [dict(p) for p in self.policies]}


def from_args(args) -> Scaling | None:
    """The --autoscaling-* flags; None when none is given. All three limits go together."""
    given = {
        "--autoscaling-min": args.autoscaling_min,
        "--autoscaling-max": args.autoscaling_max,
        "--autoscaling-target": args.autoscaling_target,
    }
    if all(v is None for v in given.values()):
        return None
    missing = [flag for flag, value in given.items() if value is None]
    if missing:
        raise BadInput(f"{', '.join(missing)} missing", "pass --autoscaling-min, --autoscaling-max and --autoscaling-target together")
    return Scaling(
        args.autoscaling_min,
        args.autoscaling_max,
        args.autoscaling_target,
        args.autoscaling_scale_in_cooldown,
        args.autoscaling_scale_out_cooldown,
    )


def check(scaling: Scaling, instance_type: str | None, serverless: bool) -> None:
    """Refuse what RegisterScalableTarget and PutScalingPolicy would refuse, before any change."""
    if serverless:
        raise BadInput(
            "--autoscaling-* scales instances; a serverless endpoint scales by itself",
            "drop the --autoscaling-* flags or deploy on instances",
        )
    if scaling.min_capacity < 1:
        raise BadInput(f"--autoscaling-min {scaling.min_capacity} is less than 1", "SageMaker variants keep at least 1 instance")
    if scaling.max_capacity < scaling.min_capacity:
        raise BadInput(
            f"--autoscaling-max {scaling.max_capacity} is less than --autoscaling-min {scaling.min_capacity}",
            "raise --autoscaling-max",
        )
    if scaling.target <= 0:
        raise BadInput(f"--autoscaling-target {scaling.target:g} is not positive", "give invocations per instance per minute, e.g. 70")
    for flag, value in (("in", scaling.scale_in_cooldown), ("out", scaling.scale_out_cooldown)):
        if value < 0:
            raise BadInput(f"--autoscaling-scale-{flag}-cooldown {value} is negative", "give seconds, 0 or more")
    if instance_type and instance_type.startswith("ml.t"):
        raise BadInput(
            f"{instance_type} is a burstable instance type, which SageMaker automatic scaling does not support",
            "pick another --instance-type or drop the --autoscaling-* flags",
        )


def current(aas, endpoint: str, variant: str) -> Registration | None:
    """The variant's registration with Application Auto Scaling, with its policies; None if none."""
    rid = resource_id(endpoint, variant)
    targets = aas.describe_scalable_targets(ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION)
    found = [t for t in targets["ScalableTargets"] if t["ResourceId"] == rid]
    if not found:
        return None
    pages = aas.get_paginator("describe_scaling_policies").paginate(
        ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
    )
    policies = tuple(
        _policy_request(p) for page in pages for p in page["ScalingPolicies"] if p["ResourceId"] == rid
    )
    target = found[0]
    return Registration(target["MinCapacity"], target["MaxCapacity"], policies, target.get("SuspendedState"))


def apply(aas, endpoint: str, variant: str, registration: Registration) -> None:
    """Register the variant (or update its limits) and put each policy."""
    rid = resource_id(endpoint, variant)
    request = {"MinCapacity": registration.min_capacity, "MaxCapacity": registration.max_capacity}
    if registration.suspended:
        request["SuspendedState"] = registration.suspended
    aas.register_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION, **request)
    for policy in registration.policies:
        aas.put_scaling_policy(ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION, **policy)


def suspend(aas, endpoint: str, variant: str, registration: Registration) -> None:
    """Delete the policies and deregister, as an instance-type change requires."""
    rid = resource_id(endpoint, variant)
    for policy in registration.policies:
        aas.delete_scaling_policy(
            PolicyName=policy["PolicyName"], ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
        )
    aas.deregister_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION)


def restore_hint(endpoint: str, variant: str, registration: Registration) -> str:
    """How to put a suspended registration back by hand, when smops could not."""
    return (
        f"autoscaling of {endpoint} is deregistered for the update ({registration.describe()}): register it "
        f"again once the endpoint is InService (aws application-autoscaling register-scalable-target "
        f"--service-namespace sagemaker --scalable-dimension {DIMENSION} --resource-id "
        f"{resource_id(endpoint, variant)} --min-capacity {registration.min_capacity} "
        f"--max-capacity {registration.max_capacity}, then put-scaling-policy)"
    )


def _policy_request(policy: dict) -> dict:
    """A described policy as the PutScalingPolicy arguments that recreate it."""
    request = {"PolicyName": policy["PolicyName"], "PolicyType": policy["PolicyType"]}
    for key in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"):
        if policy.get(key):
            request[key] = policy[key]
    return request
