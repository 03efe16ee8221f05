"""The model registry: find packages, approve or reject them, read their metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator

import botocore.exceptions

from smops import aws, gha
from smops.errors import BadInput

PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):model-package/.+$")
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
DESCRIPTION_MAX = 1024  # UpdateModelPackage's ApprovalDescription
# Why a package was retrained (the build's RetrainReason, e.g. drift:length,diameter) and the run
# that decided it, in its CustomerMetadataProperties.
RETRAIN_REASON_KEY, RETRAIN_RUN_KEY = "smops:retrain-reason", "smops:retrain-run-url"
METADATA_VALUE_MAX = 256  # CustomerMetadataProperties' value length


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


def summaries(sm, group: str, status: str | None = None) -> Iterator[dict]:
    """The group's package summaries (in that approval status, when given), newest first, read a
    page at a time as they are consumed. A filtered page may come back empty with a NextToken:
    the paginator reads on."""
    request = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        request["ModelApprovalStatus"] = status
    for page in sm.get_paginator("list_model_packages").paginate(**request):
        yield from page["ModelPackageSummaryList"]


def newest(sm, group: str, status: str | None) -> dict | None:
    """The newest package of the group (in that approval status, when given), described."""
    try:
        summary = next(summaries(sm, group, status), None)
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc):
            raise BadInput(f"model package group {group} not found", "check the name and region") from exc
        raise
    return describe(sm, summary["ModelPackageArn"]) if summary else None


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
        raise BadInput(f"model package group {group} has no {status} package", _what_to_do(sm, group, status))
    return found


def _what_to_do(sm, group: str, wanted: str) -> str:
    """Advice that works when followed: approve the newest pending package (when an Approved one
    was wanted), else the newest rejected one by its ARN, else build one."""
    if wanted == "Approved" and next(summaries(sm, group, "PendingManualApproval"), None):
        return f"approve one: smops approve --model-package-group {group}"
    rejected = next(summaries(sm, group, "Rejected"), None)
    if rejected:
        return f"register a new version with smops build, or approve the newest rejected one: smops approve --model-package-arn {rejected['ModelPackageArn']}"
    return "register one with smops build"


def label(package: dict) -> str:
    """group v3, or the ARN for an unversioned package."""
    group = package.get("ModelPackageGroupName")
    version = package.get("ModelPackageVersion")
    return f"{group} v{version}" if group and version else package["ModelPackageArn"]


def headline(package: dict) -> str:
    """Markdown: the package, its version and its approval status, and why it was retrained."""
    line = (
        f"**Model package** `{package['ModelPackageArn']}` — {label(package)}, "
        f"{package.get('ModelApprovalStatus', 'unknown')}"
    )
    reason = retraining(package)
    return f"{line}\n\n{reason}" if reason else line


def summary_lines(package: dict, s3) -> str:
    """Markdown: the package's version, approval and metrics."""
    from smops import metrics

    lines = [headline(package)]
    found = metrics.read(package, s3)
    rows = [[name, metrics.number_text(value)] for name, value in found.values.items()]
    rows += [[name, uri] for name, uri in found.unread.items()]
    if rows:
        lines += ["", gha.table(["metric", "value"], rows)]
    return "\n".join(lines)


def retraining(package: dict) -> str:
    """Markdown: why the package was retrained and by which run; empty when it was not."""
    metadata = package.get("CustomerMetadataProperties") or {}
    reason = metadata.get(RETRAIN_REASON_KEY)
    if not reason:
        return ""
    url = metadata.get(RETRAIN_RUN_KEY)
    return f"**Retrained**: `{reason}`" + (f" ([run]({url}))" if url else "")


def add_metadata(sm, package: dict, properties: dict[str, str]) -> None:
    """Add CustomerMetadataProperties to the package (kept in `package` too); the rest stay."""
    properties = {key: str(value)[:METADATA_VALUE_MAX] for key, value in properties.items() if value}
    if not properties:
        return
    sm.update_model_package(ModelPackageArn=package["ModelPackageArn"], CustomerMetadataProperties=properties)
    package["CustomerMetadataProperties"] = {**(package.get("CustomerMetadataProperties") or {}), **properties}


def drift_retraining_pending(sm, group: str) -> dict | None:
    """The newest package of the group that a drift retrained and that still waits for approval:
    while it waits, another drift must not start another build."""
    for summary in summaries(sm, group, "PendingManualApproval"):
        package = describe(sm, summary["ModelPackageArn"])
        reason = (package.get("CustomerMetadataProperties") or {}).get(RETRAIN_REASON_KEY) or ""
        if reason.startswith("drift:"):
            return package
    return None


def set_status(sm, package: dict, status: str, description: str | None) -> None:
    """UpdateModelPackage's approval status, with the description cut to what the API takes."""
    request = {"ModelPackageArn": package["ModelPackageArn"], "ModelApprovalStatus": status}
    if description:
        request["ApprovalDescription"] = description[:DESCRIPTION_MAX]
    sm.update_model_package(**request)
    gha.log(f"{label(package)}: {package.get('ModelApprovalStatus')} -> {status}")


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
    set_status(sm, package, args.status, args.description)
    gha.add_summary(
        f"### smops approve\n\n{label(package)}: {current} → **{args.status}**"
        + (f"\n\n> {args.description}" if args.description else "")
    )
    return outputs
