"""`smops status`: trace what serves each endpoint back to its commit, data and approver.

For endpoints and/or a model package group: which package version each endpoint serves; when, by
which workflow run and commit it was deployed (the smops:* tags on the endpoint config the deploy
created); the pipeline execution that built the package (its parameters and input data); its
metrics; who registered and who approved or rejected it, when and why (the registry's CreatedBy,
LastModifiedBy and ApprovalDescription); and what waits for approval. Whatever the credentials
cannot read is reported as such rather than failing the whole report.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from itertools import islice
from typing import Any

import botocore.exceptions

from smops import aws, endpoint, gha, metrics, registry
from smops.errors import BadInput
from smops.pipeline_graph import step_graph

DATA_INPUT_SKIP = {"code"}  # a processing step's script, not its data


def run(args) -> dict[str, Any]:
    endpoints = list(dict.fromkeys(args.endpoint_name))
    if not endpoints and not args.model_package_group:
        raise BadInput("nothing to report on", "pass --model-package-group, --endpoint-name, or both")
    if args.limit < 1:
        raise BadInput(f"--limit {args.limit} is less than 1", "show at least one package per group")
    sm = aws.client("sagemaker", args.region, args.profile)
    s3 = aws.client("s3", args.region, args.profile)
    report = collect(sm, s3, args.model_package_group, endpoints, args.limit)
    # What waits for approval is news about a group asked for, or about one that serves.
    waits = bool(args.model_package_group or report["pending-approval"])
    if not args.json:
        print(markdown(report, waits) if args.markdown else text(report, waits))
    gha.add_summary(markdown(report, waits))
    return report


# -- reading ------------------------------------------------------------------------------------


def collect(sm, s3, group: str | None, endpoint_names: list[str], limit: int) -> dict[str, Any]:
    """The report: the endpoints, the packages they serve, the group's newest packages, and
    what waits for approval in the groups involved."""
    if group:
        _check_group(sm, group)
    if endpoint_names:
        read = [_endpoint(sm, name, _check_endpoint(sm, name)) for name in endpoint_names]
    else:
        read = _serving_group(sm, group)
    serving = [_with_deployment(sm, item, config) for item, config in read]
    packages = {}
    for arn in dict.fromkeys(e["model-package-arn"] for e in serving if e.get("model-package-arn")):
        packages[arn] = _package(sm, s3, arn, serving)
    newest = [s["ModelPackageArn"] for s in islice(registry.summaries(sm, group), limit)] if group else []
    groups = dict.fromkeys([group] if group else [p["model-package-group"] for p in packages.values()])
    pending = [s["ModelPackageArn"] for name in groups if name
               for s in registry.summaries(sm, name, "PendingManualApproval")]
    for arn in dict.fromkeys(newest + pending):
        if arn not in packages:
            packages[arn] = _package(sm, s3, arn, serving)
    ordered = sorted(packages.values(), key=lambda p: (p.get("model-package-group") or "", -(p.get("version") or 0)))
    return {"endpoints": serving, "model-packages": ordered, "pending-approval": pending}


def _serving_group(sm, group: str) -> list[tuple[dict, dict | None]]:
    """The endpoints whose config serves a package of the group, each described once (endpoint,
    config, model) for the filter and the report alike."""
    found = []
    for page in sm.get_paginator("list_endpoints").paginate():
        for summary in page["Endpoints"]:
            described = endpoint.describe(sm, summary["EndpointName"])  # None: deleted meanwhile
            item, config = _endpoint(sm, summary["EndpointName"], described) if described else ({}, None)
            arn = item.get("model-package-arn")
            if arn and f":model-package/{group.lower()}/" in arn.lower():
                found.append((item, config))
    return sorted(found, key=lambda read: read[0]["endpoint-name"])


def _check_endpoint(sm, name: str) -> dict:
    described = endpoint.describe(sm, name)
    if described is None:
        raise BadInput(f"endpoint {name} not found", "check the name and the region")
    return described


def _endpoint(sm, name: str, found: dict) -> tuple[dict[str, Any], dict | None]:
    """A described endpoint's item (what it serves) and its config, described once.

    A config deleted while the endpoint runs it (SageMaker allows that) is None, and leaves both
    the package and the deployment unknown.
    """
    item: dict[str, Any] = {
        "endpoint-name": name,
        "endpoint-status": found["EndpointStatus"],
        "endpoint-config-name": found["EndpointConfigName"],
    }
    try:
        config = sm.describe_endpoint_config(EndpointConfigName=found["EndpointConfigName"])
    except botocore.exceptions.ClientError as exc:
        if not aws.is_not_found(exc):
            raise
        config = None
        item["deployment"] = f"unreadable: {aws.error_code(exc)}"
    item["model-package-arn"] = endpoint.model_package(endpoint.config_model(sm, config)) if config else None
    pending = (found.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if pending:
        item["deploying-endpoint-config-name"] = pending
    if found.get("FailureReason"):
        item["last-failure"] = found["FailureReason"]
    return item, config


def _with_deployment(sm, item: dict[str, Any], config: dict | None) -> dict[str, Any]:
    """The deployment's record, from the smops:* tags on the config the deploy created."""
    if config is None:
        return item
    try:
        tags = aws.tags(sm, config["EndpointConfigArn"])
    except botocore.exceptions.ClientError as exc:
        item["deployment"] = f"unreadable: {aws.error_code(exc)}"
        return item
    item.update(
        {
            "deployed-at": _iso(config.get("CreationTime")),
            "environment": tags.get("smops:environment"),
            "git-sha": tags.get("smops:git-sha"),
            "run-url": tags.get("smops:run-url"),
        }
    )
    return item


def _check_group(sm, group: str) -> None:
    if aws.found(sm.describe_model_package_group, ModelPackageGroupName=group) is None:
        raise BadInput(f"model package group {group} not found", "check the name and the region")


def _package(sm, s3, arn: str, serving: list[dict]) -> dict[str, Any]:
    package = registry.describe(sm, arn)
    item: dict[str, Any] = {
        "model-package-arn": arn,
        "label": registry.label(package),
        "model-package-group": package.get("ModelPackageGroupName"),
        "version": package.get("ModelPackageVersion"),
        "approval-status": package.get("ModelApprovalStatus"),
        "served-by": [e["endpoint-name"] for e in serving if e.get("model-package-arn") == arn],
        "history": _history(package),
    }
    metadata = package.get("CustomerMetadataProperties") or {}
    if metadata.get(registry.RETRAIN_REASON_KEY):
        item["retrain-reason"] = metadata[registry.RETRAIN_REASON_KEY]
        item["retrain-run-url"] = metadata.get(registry.RETRAIN_RUN_KEY)
    try:
        tags = aws.tags(sm, arn)
        item.update({"git-sha": tags.get("smops:git-sha"), "run-url": tags.get("smops:run-url")})
    except botocore.exceptions.ClientError as exc:
        item["tags"] = f"unreadable: {aws.error_code(exc)}"
    generated_by = (package.get("MetadataProperties") or {}).get("GeneratedBy")
    if generated_by and ":pipeline/" in generated_by:
        item["pipeline-execution"] = _execution(sm, generated_by)
    found = metrics.read(package, s3)
    item["metrics"] = found.values
    if found.unread:
        item["unread-reports"] = found.unread
    return item


def _history(package: dict) -> list[dict[str, Any]]:
    """What the registry's audit fields tell: who registered it, and who last set its status, why."""
    history = [{"at": _iso(package.get("CreationTime")), "by": _who(package.get("CreatedBy")), "what": "registered"}]
    if package.get("LastModifiedTime"):
        history.append(
            {
                "at": _iso(package["LastModifiedTime"]),
                "by": _who(package.get("LastModifiedBy")),
                "what": f"set {package.get('ModelApprovalStatus')}",
                "why": package.get("ApprovalDescription"),
            }
        )
    return history


def _who(context: dict | None) -> str:
    """An IAM identity (and who assumed it, when recorded), or a Studio user profile."""
    context = context or {}
    identity = context.get("IamIdentity") or {}
    if identity.get("Arn"):
        source = identity.get("SourceIdentity")
        return identity["Arn"] + (f" (source identity {source})" if source else "")
    return context.get("UserProfileName") or context.get("UserProfileArn") or "unknown"


def _execution(sm, arn: str) -> dict[str, Any]:
    item: dict[str, Any] = {"arn": arn}
    try:
        found = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        pages = sm.get_paginator("list_pipeline_parameters_for_execution").paginate(PipelineExecutionArn=arn)
        parameters = {p["Name"]: p["Value"] for page in pages for p in page["PipelineParameters"]}
        definition = json.loads(
            sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)["PipelineDefinition"]
        )
    except (botocore.exceptions.ClientError, ValueError) as exc:
        code = aws.error_code(exc) if isinstance(exc, botocore.exceptions.ClientError) else "not JSON"
        item["details"] = f"unreadable: {code}"
        return item
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters") or []}
    values = {**{k: v for k, v in defaults.items() if v is not None}, **parameters}
    item.update(
        {
            "status": found.get("PipelineExecutionStatus"),
            "started-at": _iso(found.get("CreationTime")),
            "description": found.get("PipelineExecutionDescription"),
            "parameters": {k: str(v) for k, v in values.items()},
            "input-data": input_data(definition, values),
        }
    )
    return item


def input_data(definition: dict, parameters: dict[str, Any]) -> list[str]:
    """The S3 locations the pipeline's jobs read that no step of it produced: its input data."""
    found: list[str] = []

    def location(value: Any) -> None:
        if isinstance(value, dict) and set(value) == {"Get"} and str(value["Get"]).startswith("Parameters."):
            value = parameters.get(value["Get"].split(".", 1)[1])
        if isinstance(value, str) and value.startswith("s3://") and value not in found:
            found.append(value)

    for step in step_graph(definition):
        arguments = step.definition.get("Arguments") or {}
        for given in arguments.get("ProcessingInputs") or []:
            if given.get("InputName") not in DATA_INPUT_SKIP:
                location((given.get("S3Input") or {}).get("S3Uri"))
        for channel in arguments.get("InputDataConfig") or []:
            location(((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
        location(((arguments.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource", {}).get("S3Uri"))
    return found


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value else None


# -- rendering ----------------------------------------------------------------------------------


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").replace("Z", " UTC") if iso else "unknown time"


def _short(sha: str | None) -> str:
    return sha[:7] if sha else "unknown commit"


def _serves(item: dict, labels: dict[str, str]) -> str:
    arn = item.get("model-package-arn")
    return labels.get(arn, arn) if arn else "no model package"


def text(report: dict, waits: bool) -> str:
    """For a terminal."""
    labels = {p["model-package-arn"]: p["label"] for p in report["model-packages"]}
    statuses = {p["model-package-arn"]: p["approval-status"] for p in report["model-packages"]}
    lines = []
    for item in report["endpoints"]:
        head = f"{item['endpoint-name']}: {item['endpoint-status']}"
        arn = item.get("model-package-arn")
        lines.append(f"{head}, serves {_serves(item, labels)}" + (f" ({statuses[arn]})" if arn in statuses else ""))
        if "deployed-at" in item:
            env = f" to {item['environment']}" if item.get("environment") else ""
            lines.append(
                f"  deployed{env} {_when(item['deployed-at'])} by {item.get('run-url') or 'an unknown run'} "
                f"at {_short(item.get('git-sha'))}"
            )
        lines.append(f"  endpoint config {item['endpoint-config-name']}")
        if item.get("deploying-endpoint-config-name"):
            lines.append(f"  deploying {item['deploying-endpoint-config-name']}")
        if item.get("last-failure"):
            lines.append(f"  last update: {item['last-failure']}")
        lines.append("")
    for package in report["model-packages"]:
        served = f", serves {', '.join(package['served-by'])}" if package["served-by"] else ""
        lines.append(f"{package['label']}: {package['approval-status']}{served}")
        if package.get("run-url") or package.get("git-sha"):
            lines.append(f"  built by {package.get('run-url') or 'an unknown run'} at {_short(package.get('git-sha'))}")
        if package.get("retrain-reason"):
            run = f" (decided by {package['retrain-run-url']})" if package.get("retrain-run-url") else ""
            lines.append(f"  retrained: {package['retrain-reason']}{run}")
        execution = package.get("pipeline-execution")
        if execution:
            state = execution.get("status") or execution.get("details")
            lines.append(f"  pipeline execution {execution['arn']} ({state}, started {_when(execution.get('started-at'))})")
            if execution.get("parameters"):
                lines.append("    parameters: " + ", ".join(f"{k}={v}" for k, v in execution["parameters"].items()))
            if execution.get("input-data"):
                lines.append("    input data: " + ", ".join(execution["input-data"]))
        if package["metrics"]:
            lines.append("  metrics: " + ", ".join(f"{k} {metrics.number_text(v)}" for k, v in package["metrics"].items()))
        for event in package["history"]:
            why = f": {event['why']}" if event.get("why") else ""
            lines.append(f"  {event['what']} {_when(event['at'])} by {event['by']}{why}")
        lines.append("")
    if waits:
        pending = [labels.get(arn, arn) for arn in report["pending-approval"]]
        lines.append("waiting for approval: " + (", ".join(pending) if pending else "nothing"))
    return "\n".join(lines).rstrip("\n")


def markdown(report: dict, waits: bool) -> str:
    """For a job summary."""
    labels = {p["model-package-arn"]: p["label"] for p in report["model-packages"]}
    lines = ["### smops status"]
    if report["endpoints"]:
        rows = [
            [
                f"`{e['endpoint-name']}`",
                e["endpoint-status"],
                _serves(e, labels),
                _when(e.get("deployed-at")) if e.get("deployed-at") else "—",
                _link(e.get("run-url")),
                f"`{_short(e.get('git-sha'))}`" if e.get("git-sha") else "—",
                e.get("environment") or "—",
                e.get("last-failure") or "",
            ]
            for e in report["endpoints"]
        ]
        lines += ["", "#### Endpoints", "", gha.table(
            ["endpoint", "status", "serves", "deployed", "run", "commit", "environment", "last update failure"], rows
        )]
    packages = report["model-packages"]
    if packages:
        rows = []
        for p in packages:
            execution = p.get("pipeline-execution") or {}
            parameters = ", ".join(f"{k}={v}" for k, v in (execution.get("parameters") or {}).items())
            run = f" {_link(p['retrain-run-url'])}" if p.get("retrain-run-url") else ""
            retrained = f"<br>retrained: `{p['retrain-reason']}`{run}" if p.get("retrain-reason") else ""
            rows.append([
                p["label"] + retrained, p["approval-status"], ", ".join(p["served-by"]) or "—",
                f"{_link(p.get('run-url'))} `{_short(p.get('git-sha'))}`" if p.get("run-url") or p.get("git-sha") else "—",
                f"`{execution['arn'].rsplit('/', 1)[-1]}` {execution.get('status') or execution.get('details', '')}"
                if execution else "—",
                parameters or "—",
                "<br>".join(f"`{uri}`" for uri in execution.get("input-data") or []) or "—",
            ])
        lines += ["", "#### Model packages", "", gha.table(
            ["package", "approval", "served by", "built by", "pipeline execution", "parameters", "input data"], rows
        )]
        rows = [
            [p["label"], _when(e["at"]), f"`{e['by']}`", e["what"], e.get("why") or ""]
            for p in packages for e in p["history"]
        ]
        lines += ["", "#### Approval history", "", gha.table(["package", "when", "who", "what", "why"], rows)]
        names = list(dict.fromkeys(name for p in packages for name in p["metrics"]))
        if names:
            rows = [[f"`{n}`", *(metrics.number_text(p["metrics"].get(n)) for p in packages)] for n in names]
            lines += ["", "#### Metrics", "", gha.table(["metric", *(p["label"] for p in packages)], rows)]
    if waits:
        pending = [labels.get(arn, f"`{arn}`") for arn in report["pending-approval"]]
        lines += ["", "**Waiting for approval**: " + (", ".join(pending) if pending else "nothing")]
    return "\n".join(lines)


def _link(url: str | None) -> str:
    if not url:
        return "—"
    return f"[run {url.rstrip('/').rsplit('/', 1)[-1]}]({url})" if "/actions/runs/" in url else url

