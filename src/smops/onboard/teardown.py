"""`smops teardown`: remove what smops made for a project, after its last run.

Endpoints cost money around the clock; nothing else smops made does, but a project that is over
should leave nothing behind. The plan is read first and shown whole: each endpoint's automatic
scaling (deregistered first, as SageMaker requires before the endpoint goes), the endpoints, the
endpoint configs and models smops tagged for them (never untagged ones, as `smops cleanup`), the
rollback alarms `--create-alarms` made, the data captured under the endpoints' capture prefixes,
the two stacks `smops setup-aws` deployed and the approval bridge's secret (which the stack
retains). The model registry is kept unless --delete-registry says otherwise: its packages are the
record of what was approved and served. Each deletion is said as it happens; when one fails the
error says what is left, and running teardown again picks up from there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smops import aws, endpoint, gha, registry
from smops.deploy import alarms, cleanup, scaling
from smops.errors import BadInput, RemoteFailure, SmopsError
from smops.monitor import capture
from smops.onboard import starters
from smops.waiting import wait_for

# Days before Secrets Manager deletes the bridge's secret for good (7 is its minimum): until then
# `aws secretsmanager restore-secret` brings it back.
SECRET_RECOVERY_DAYS = 7
S3_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


@dataclass
class Step:
    kind: str  # what is deleted: endpoint, endpoint config, stack, ...
    name: str
    note: str
    delete: Callable[[], None]

    def row(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}


def run(args) -> dict[str, str]:
    answers, _ = starters.read(Path(args.dir))
    known = starters.known(answers)
    endpoints = list(dict.fromkeys(args.endpoint_name or [
        name for name in (known.get("staging_endpoint_name"), known.get("production_endpoint_name")) if name
    ]))
    group = args.model_package_group or known.get("model_package_group")
    for name in endpoints:
        endpoint.check_name(name)
    if not endpoints:
        raise BadInput(
            f"no endpoints to tear down: the starters in {args.dir} name none",
            "pass --endpoint-name (repeatable), or --dir the repository smops init wrote",
        )
    if args.delete_registry and not group:
        raise BadInput("--delete-registry without a model package group", "pass --model-package-group")
    region = args.region or known.get("region")
    clients = {
        service: aws.client(service, region, args.profile)
        for service in ("sagemaker", "application-autoscaling", "cloudwatch", "s3", "cloudformation", "secretsmanager")
    }
    steps = plan(clients, endpoints, [args.bridge_stack, args.oidc_stack], group if args.delete_registry else None,
                 args.timeout * 60)
    show(steps, region or aws.region_of(None, args.profile), group, args)
    outputs = {"plan": [s.row() for s in steps], "deleted": []}
    if args.dry_run or not steps:
        return outputs
    confirm(steps, args.yes)
    for done, step in enumerate(steps):
        try:
            step.delete()
        except (SmopsError, *aws.ERRORS) as exc:
            left = ", ".join(f"{s.kind} {s.name}" for s in steps[done:])
            failure = type(exc) if isinstance(exc, SmopsError) else RemoteFailure  # a timeout stays exit 3
            raise failure(
                f"teardown stopped deleting {step.kind} {step.name}: {exc}",
                f"{done} of {len(steps)} deleted; still there: {left}; fix the cause and run smops teardown again",
                outputs=outputs,
            ) from exc
        gha.log(f"deleted {step.kind} {step.name}")
        outputs["deleted"].append(step.row())
    return outputs


# -- the plan -----------------------------------------------------------------------------------


def plan(clients: dict, endpoints: list[str], stacks: list[str], group: str | None, timeout: float) -> list[Step]:
    """Every deletion, in the order it can be done: what uses a thing goes before it."""
    sm = clients["sagemaker"]
    steps: list[Step] = []
    configs: list[tuple[str, str]] = []
    captured: list[tuple[str, str]] = []  # (capture prefix, endpoint)
    for name in endpoints:
        described = endpoint.describe(sm, name)
        variants = {v["VariantName"] for v in (described or {}).get("ProductionVariants") or []}
        for config in cleanup.ours(sm, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn", name):
            configs.append((config, name))
            found = aws.found(sm.describe_endpoint_config, EndpointConfigName=config) or {}
            variants |= {v["VariantName"] for v in found.get("ProductionVariants") or []}
            captured.append(((found.get("DataCaptureConfig") or {}).get("DestinationS3Uri"), name))
        if described:
            captured.append(((described.get("DataCaptureConfig") or {}).get("DestinationS3Uri"), name))
            steps += _autoscaling(clients["application-autoscaling"], name, sorted(variants))
            steps.append(Step("endpoint", name, described["EndpointStatus"], lambda n=name: _delete_endpoint(sm, n, timeout)))
        steps += _alarms(clients["cloudwatch"], [a for v in sorted(variants) for a in alarms.names(name, v)])
    steps += [Step("endpoint config", c, f"of {e}", lambda c=c: sm.delete_endpoint_config(EndpointConfigName=c))
              for c, e in configs]
    for name in endpoints:
        steps += [Step("model", m, f"of {name}", lambda m=m: sm.delete_model(ModelName=m))
                  for m in cleanup.ours(sm, "list_models", "Models", "ModelArn", name)]
    for uri, name in dict.fromkeys((uri, name) for uri, name in captured if uri):
        steps += _capture(clients["s3"], uri, name)
    for stack in stacks:
        steps += _stack(clients["cloudformation"], clients["secretsmanager"], stack, timeout)
    if group:
        steps += _registry(sm, group)
    return steps


def _autoscaling(aas, name: str, variants: list[str]) -> list[Step]:
    steps = []
    for variant in variants:
        registration = scaling.current(aas, name, variant)
        if registration:
            steps.append(Step("autoscaling", f"{name}/{variant}", registration.describe(),
                              lambda v=variant, r=registration: scaling.suspend(aas, name, v, r)))
    return steps


def _alarms(cw, names: list[str]) -> list[Step]:
    found = alarms.states(cw, names)
    return [Step("alarm", n, found[n], lambda n=n: cw.delete_alarms(AlarmNames=[n])) for n in names if n in found]


def _capture(s3, uri: str, name: str) -> list[Step]:
    """The objects SageMaker captured for the endpoint: under PREFIX/ENDPOINT/."""
    bucket, prefix = capture.split_uri(uri)
    prefix = f"{prefix.rstrip('/')}/{name}/".lstrip("/")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
    if not keys:
        return []

    def delete() -> None:
        for start in range(0, len(keys), S3_DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start : start + S3_DELETE_BATCH]]
            failed = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}).get("Errors")
            if failed:
                raise RemoteFailure(f"S3 kept {len(failed)} object(s), e.g. {failed[0]['Key']}: {failed[0]['Message']}")

    return [Step("capture data", f"s3://{bucket}/{prefix}", f"{len(keys)} object(s)", delete)]


def _stack(cloudformation, secrets, name: str, timeout: float) -> list[Step]:
    found = aws.found(cloudformation.describe_stacks, StackName=name)
    if not found:
        return []
    stack = found["Stacks"][0]
    steps = [Step("stack", name, stack["StackStatus"], lambda: _delete_stack(cloudformation, name, timeout))]
    given = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []}
    secret = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}.get("SecretArn")
    if secret and "GitHubSecretArn" in given and not given["GitHubSecretArn"]:  # the stack made it, and retains it
        steps.append(Step("secret", secret, f"recoverable for {SECRET_RECOVERY_DAYS} days",
                          lambda: secrets.delete_secret(SecretId=secret, RecoveryWindowInDays=SECRET_RECOVERY_DAYS)))
    return steps


def _registry(sm, group: str) -> list[Step]:
    if not aws.found(sm.describe_model_package_group, ModelPackageGroupName=group):
        return []
    packages = [p["ModelPackageArn"] for p in registry.summaries(sm, group)]
    return [
        *(Step("model package", arn, "", lambda arn=arn: sm.delete_model_package(ModelPackageName=arn)) for arn in packages),
        Step("model package group", group, f"{len(packages)} package(s)",
             lambda: sm.delete_model_package_group(ModelPackageGroupName=group)),
    ]


# -- doing it -----------------------------------------------------------------------------------


def _delete_endpoint(sm, name: str, timeout: float) -> None:
    """Delete and wait until it is gone: capture data stops, and its config may go."""
    sm.delete_endpoint(EndpointName=name)
    wait_for(lambda: endpoint.describe(sm, name), lambda d: d is None, timeout_seconds=timeout,
             what=f"endpoint {name} to be deleted", status=lambda d: d["EndpointStatus"] if d else "deleted")


def _delete_stack(cloudformation, name: str, timeout: float) -> None:
    cloudformation.delete_stack(StackName=name)

    def status() -> str:
        found = aws.found(cloudformation.describe_stacks, StackName=name)
        return found["Stacks"][0]["StackStatus"] if found else "DELETE_COMPLETE"

    final = wait_for(status, lambda s: not s.endswith("IN_PROGRESS"), timeout_seconds=timeout,
                     what=f"stack {name} to be deleted", status=lambda s: s)
    if final != "DELETE_COMPLETE":
        raise RemoteFailure(f"stack {name} ended {final}", "see its events in the CloudFormation console")


def show(steps: list[Step], region: str, group: str | None, args) -> None:
    heading = f"smops teardown in {region}: {len(steps)} to delete" + (" (dry run: nothing is deleted)" if args.dry_run else "")
    gha.log(heading)
    width = max((len(s.kind) for s in steps), default=0)
    for step in steps:
        gha.log(f"  {step.kind:<{width}}  {step.name}" + (f"  ({step.note})" if step.note else ""))
    if not steps:
        gha.log("  nothing: every endpoint, config, model, alarm, stack and secret is already gone")
    if group and not args.delete_registry:
        gha.log(f"kept: model package group {group} and its packages (pass --delete-registry to delete them too)")
    gha.add_summary(f"### {heading}\n\n" + gha.table(["kind", "name", "note"], [[s.kind, f"`{s.name}`", s.note] for s in steps]))


def confirm(steps: list[Step], yes: bool) -> None:
    """Ask on a terminal; anywhere else --yes must say it."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise BadInput("teardown deletes what is listed above and there is no terminal to ask",
                       "pass --yes to delete it, or --dry-run to only list it")
    answer = input(f"delete these {len(steps)}? [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise BadInput("teardown not confirmed: nothing was deleted", "answer y to delete, or pass --yes")
