"""IAM's SimulatePrincipalPolicy, which moto 5.2.5 lacks, decided by moto's own policy engine.

The policies are the principal's as moto stores them (a role's or a user's inline and attached
policies, a user's groups' too) plus PolicyInputList, each statement judged by moto's
IAMPolicyStatement: does it cover the action, the resource and the conditions given as
ContextEntries. An explicit Deny wins, then an Allow, else the implicit deny; a permissions
boundary must allow the action too. The answer has the shape of botocore's service model, one
EvaluationResult per action with one ResourceSpecificResult per resource (AWS's current
behaviour: the top-level decision is the most restrictive of them).

Limits, from moto's engine: conditions are compared with StringEquals and StringLike only (the
emulator's IAM enforcement adds StringLike; other operators are taken as met), and resource-based policies are not evaluated. A condition key that a statement
needs and the request does not give makes the statement not apply and is reported in
MissingContextValues, as AWS does (except for ...IfExists operators).
"""

from __future__ import annotations

import json

from moto.core.responses import ActionResult
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.iam.exceptions import InvalidInput, NoSuchEntity, NotFoundException

DECISION_ORDER = ["allowed", "implicitDeny", "explicitDeny"]  # from the least to the most restrictive


def patch(response_class) -> None:
    def simulate_principal_policy(self):
        source = self._get_param("PolicySourceArn")
        actions = self._get_param("ActionNames") or []
        resources = self._get_param("ResourceArns") or ["*"]
        context = {
            entry["ContextKeyName"]: entry.get("ContextKeyValues") or []
            for entry in self._get_param("ContextEntries") or []
        }
        policies = principal_policies(self.backend, source)
        policies += [("PolicyInputList." + str(i + 1), "none", doc) for i, doc in enumerate(self._get_param("PolicyInputList") or [])]
        boundary = permissions_boundary(self.backend, source)
        results = [evaluate(action, resources, policies, boundary, context) for action in actions]
        start = int(self._get_param("Marker") or 0)
        size = int(self._get_param("MaxItems") or 100)
        page = {"EvaluationResults": results[start : start + size], "IsTruncated": start + size < len(results)}
        if page["IsTruncated"]:
            page["Marker"] = str(start + size)
        return ActionResult(page)

    response_class.simulate_principal_policy = simulate_principal_policy


def principal_policies(backend, arn: str) -> list[tuple[str, str, str]]:
    """(policy id, SourcePolicyType, document) for every policy of the role or user named by arn."""
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    try:
        if kind == "role":
            role = backend.get_role_by_arn(arn)
            inline = [(n, "role", d) for n, d in role.policies.items()]
            return inline + _managed(role.managed_policies.values())
        if kind == "user":
            user = backend.get_user(name)
            policies = [(n, "user", d) for n, d in user.policies.items()] + _managed(user.managed_policies.values())
            for group in backend.get_groups_for_user(name):
                policies += [(n, "group", d) for n, d in group.policies.items()] + _managed(group.managed_policies.values())
            return policies
    except NotFoundException:
        raise NoSuchEntity(f"The {kind} with name {name} cannot be found.") from None
    raise InvalidInput(f"Invalid ARN {arn}: the simulator takes a role's or a user's ARN.")


def _managed(policies) -> list[tuple[str, str, str]]:
    return [
        (policy.name, "aws-managed" if ":aws:policy/" in policy.arn else "user-managed", _default_version(policy))
        for policy in policies
    ]


def _default_version(policy) -> str:
    return next(version.document for version in policy.versions if version.is_default)


def permissions_boundary(backend, arn: str) -> str | None:
    kind = arn.split(":", 5)[-1].split("/", 1)[0]
    if kind != "role":
        return None
    boundary = backend.get_role_by_arn(arn).permissions_boundary_arn
    return _default_version(backend.get_policy(boundary)) if boundary else None


def evaluate(action, resources, policies, boundary, context) -> dict:
    per_resource = [_decide(action, resource, policies, boundary, context) for resource in resources]
    worst = max(per_resource, key=lambda r: DECISION_ORDER.index(r["EvalResourceDecision"]))
    result = {
        "EvalActionName": action,
        "EvalResourceName": resources[0] if len(resources) == 1 else "*",
        "EvalDecision": worst["EvalResourceDecision"],
        "MatchedStatements": worst["MatchedStatements"],
        "MissingContextValues": sorted({key for r in per_resource for key in r["MissingContextValues"]}),
        "ResourceSpecificResults": per_resource,
    }
    if boundary is not None:
        result["PermissionsBoundaryDecisionDetail"] = worst["PermissionsBoundaryDecisionDetail"]
    return result


def _decide(action, resource, policies, boundary, context) -> dict:
    allows, denies, missing = [], [], set()
    for policy_id, policy_type, document in policies:
        for statement in _statements(document):
            applies, lacking = _applies(statement, action, resource, context)
            missing |= lacking
            if applies:
                matched = {"SourcePolicyId": policy_id, "SourcePolicyType": policy_type}
                (denies if statement.get("Effect") == "Deny" else allows).append(matched)
    decision = "explicitDeny" if denies else "allowed" if allows else "implicitDeny"
    result = {
        "EvalResourceName": resource,
        "EvalResourceDecision": decision,
        "MatchedStatements": denies or allows,
        "MissingContextValues": sorted(missing),
    }
    if boundary is not None:
        within = IAMPolicy(boundary).is_action_permitted(action, resource, None, _single(context)) == PermissionResult.PERMITTED
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": within}
        if decision == "allowed" and not within:
            result["EvalResourceDecision"] = "implicitDeny"
    return result


def _statements(document) -> list[dict]:
    statements = json.loads(document)["Statement"] if isinstance(document, str) else document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _applies(statement: dict, action: str, resource: str, context: dict) -> tuple[bool, set[str]]:
    """Whether the statement covers the request, judged by moto as if it allowed; and the
    condition keys it needs that the request did not give."""
    needed = {
        key
        for operator, keys in (statement.get("Condition") or {}).items()
        if not operator.endswith("IfExists")
        for key in keys
    }
    as_allow = IAMPolicyStatement({**statement, "Effect": "Allow"})
    covered = as_allow.is_action_permitted(action, resource, None, _single(context)) == PermissionResult.PERMITTED
    lacking = needed - set(context)
    if not covered:
        # Does it cover the action and resource, conditions aside? Only then are its keys missing.
        without = IAMPolicyStatement({**statement, "Effect": "Allow", "Condition": {}})
        if without.is_action_permitted(action, resource) != PermissionResult.PERMITTED:
            lacking = set()
    return covered and not lacking, lacking


def _single(context: dict) -> dict[str, str]:
    """moto's engine compares one value per key."""
    return {key: values[0] for key, values in context.items() if values}
