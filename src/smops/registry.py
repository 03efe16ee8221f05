"""The model registry: find packages, approve or reject them, read their metrics."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.exceptions

from smops import aws, gha
from smops.errors import BadInput

PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):model-package/.+$")
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
# Metrics files are small JSON documents; anything bigger is linked, not read.
METRICS_MAX_BYTES = 1 << 20


def describe(sm, arn: str) -> dict:
    match = PACKAGE_ARN.match(arn)
    if arn.startswith("arn:") and not match:
        raise BadInput(
            f"{arn!r} is not a model package ARN",
            "give arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION (smops build prints it)",
        )
    region = sm.meta.region_name
    if match and match[1] != region:
        raise BadInput(
            f"model package {arn} is in {match[1]}, not {region}",
            f"pass --region {match[1]}, or a package registered in {region}",
        )
    try:
        return sm.describe_model_package(ModelPackageName=arn)
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc) or aws.error_code(exc) == "ValidationException":
            raise BadInput(
                f"model package {arn} not found: {aws.error_message(exc)}",
                "check the ARN and the region",
            ) from exc
        raise


def newest(sm, group: str, status: str | None) -> dict | None:
    """The newest package of the group (in that approval status, when given), described."""
    request = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        request["ModelApprovalStatus"] = status
    try:
        # A filtered page may come back empty with a NextToken: keep reading until one is found.
        for page in sm.get_paginator("list_model_packages").paginate(**request):
            if page["ModelPackageSummaryList"]:
                return describe(sm, page["ModelPackageSummaryList"][0]["ModelPackageArn"])
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc):
            raise BadInput(f"model package group {group} not found", "check the name and region") from exc
        raise
    return None


def resolve(sm, arn: str | None, group: str | None, status: str) -> dict:
    """--model-package-arn, or the newest package of --model-package-group in `status`."""
    if arn and group:
        raise BadInput("both --model-package-arn and --model-package-group given", "pass one of them")
    if arn:
        return describe(sm, arn)
    if not group:
        raise BadInput(
            "no model package given",
            "pass --model-package-arn, or --model-package-group for the newest one",
        )
    found = newest(sm, group, status)
    if found is None and not sm.list_model_packages(ModelPackageGroupName=group, MaxResults=1)["ModelPackageSummaryList"]:
        raise BadInput(
            f"model package group {group} does not exist in {sm.meta.region_name}, or holds no packages",
            "check the name and the region; `smops build` registers packages into it",
        )
    if found is None:
        raise BadInput(
            f"model package group {group} has no {status} package",
            "run `smops build` to register one"
            if status == "PendingManualApproval"
            else f"approve one: smops approve --model-package-group {group}",
        )
    return found


def label(package: dict) -> str:
    """group v3, or the ARN for an unversioned package."""
    group = package.get("ModelPackageGroupName")
    version = package.get("ModelPackageVersion")
    return f"{group} v{version}" if group and version else package["ModelPackageArn"]


def metrics(package: dict, s3) -> list[tuple[str, str]]:
    """(metric, value) rows from the package's ModelMetrics reports; a link when unreadable."""
    rows: list[tuple[str, str]] = []
    for category, reports in (package.get("ModelMetrics") or {}).items():
        for report_name, report in (reports or {}).items():
            uri = (report or {}).get("S3Uri")
            if not uri:
                continue
            values = _read_json_report(s3, uri)
            if values is None:
                rows.append((f"{category}.{report_name}", uri))
            else:
                rows += [(f"{category}.{name}", value) for name, value in _leaves(values)]
    return rows


def _read_json_report(s3, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if head["ContentLength"] > METRICS_MAX_BYTES:
            return None
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, ValueError):
        return None


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten {"regression_metrics": {"mse": {"value": 1.2}}} into ("regression_metrics.mse", "1.2")."""
    if isinstance(value, dict):
        if set(value) >= {"value"} and not isinstance(value["value"], (dict, list)):
            return [(prefix, str(value["value"]))]
        rows = []
        for key, inner in value.items():
            rows += _leaves(inner, f"{prefix}.{key}" if prefix else key)
        return rows
    if isinstance(value, (int, float, str, bool)):
        return [(prefix, str(value))]
    return []


def summary_lines(package: dict, s3) -> str:
    """Markdown: the package's version, approval and metrics."""
    lines = [
        f"**Model package** `{package['ModelPackageArn']}` — {label(package)}, "
        f"{package.get('ModelApprovalStatus', 'unknown')}",
    ]
    rows = metrics(package, s3)
    if rows:
        lines += ["", gha.table(["metric", "value"], [list(r) for r in rows])]
    return "\n".join(lines)


def run_approve(args) -> dict[str, str]:
    """`smops approve`: set the approval status; a no-op when it is already that."""
    sm = aws.client("sagemaker", args.region, args.profile)
    try:
        package = resolve(sm, args.model_package_arn, args.model_package_group, "PendingManualApproval")
    except BadInput:
        # Re-running an approval by group: nothing is pending because the newest is already done.
        latest = newest(sm, args.model_package_group, None) if args.model_package_group else None
        if not latest or latest.get("ModelApprovalStatus") != args.status:
            raise
        package = latest
    arn = package["ModelPackageArn"]
    outputs = {"model-package-arn": arn, "approval-status": args.status}
    current = package.get("ModelApprovalStatus")
    if current == args.status:
        gha.log(f"{label(package)} is already {current}: nothing to change")
        gha.add_summary(f"### smops approve\n\n{label(package)} was already **{current}**; unchanged.")
        return outputs
    request = {"ModelPackageArn": arn, "ModelApprovalStatus": args.status}
    if args.description:
        request["ApprovalDescription"] = args.description
    sm.update_model_package(**request)
    gha.log(f"{label(package)}: {current} -> {args.status}")
    gha.add_summary(
        f"### smops approve\n\n{label(package)}: {current} → **{args.status}**"
        + (f"\n\n> {args.description}" if args.description else "")
    )
    return outputs
