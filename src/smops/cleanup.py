"""`smops cleanup`: delete the endpoint configs and models smops created and no longer needs.

Only resources tagged smops:endpoint=<endpoint> are candidates, so configs made by hand or by
other tools are never touched; the config the endpoint serves (and one being deployed) is kept
with the --keep newest.
"""

from __future__ import annotations

import botocore.exceptions

from smops import aws, endpoint, gha
from smops.deploy import ENDPOINT_TAG
from smops.errors import BadInput


def run(args) -> dict[str, str]:
    if args.keep < 0:
        raise BadInput(f"--keep {args.keep} is negative", "keep 0 or more old configs")
    sm = aws.client("sagemaker", args.region, args.profile)
    current = endpoint.describe(sm, args.endpoint_name)
    in_use = set()
    if current:
        in_use.add(current["EndpointConfigName"])
        pending = (current.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        if pending:
            in_use.add(pending)

    ours = []
    # Names start with the endpoint's, cut to fit 63 characters with the -v<version>-<time> suffix.
    pages = sm.get_paginator("list_endpoint_configs").paginate(
        NameContains=args.endpoint_name[:40], SortBy="CreationTime", SortOrder="Descending"
    )
    for page in pages:
        for summary in page["EndpointConfigs"]:
            tags = _tags(sm, summary["EndpointConfigArn"])
            if tags.get(ENDPOINT_TAG) == args.endpoint_name:
                ours.append(summary)
    older = [c for c in ours if c["EndpointConfigName"] not in in_use][args.keep :]

    deleted_configs, deleted_models = [], []
    verb = "would delete" if args.dry_run else "deleting"
    for config in older:
        name = config["EndpointConfigName"]
        models = _own_models(sm, name, args.endpoint_name)
        gha.log(f"{verb} endpoint config {name}" + (f" and model {', '.join(models)}" if models else ""))
        if not args.dry_run:
            sm.delete_endpoint_config(EndpointConfigName=name)
            for model in models:
                sm.delete_model(ModelName=model)
        deleted_configs.append(name)
        deleted_models += models
    kept = [c["EndpointConfigName"] for c in ours if c not in older]
    gha.log(f"kept {len(kept)} config(s): {', '.join(kept) or 'none'}")
    title = "smops cleanup (dry run)" if args.dry_run else "smops cleanup"
    gha.add_summary(
        f"### {title}: `{args.endpoint_name}`\n\n"
        + gha.table(
            ["endpoint config", "fate"],
            [[k, "kept (in use)" if k in in_use else "kept"] for k in kept]
            + [[d, "would be deleted" if args.dry_run else "deleted"] for d in deleted_configs],
        )
    )
    return {
        "deleted-endpoint-configs": "\n".join(deleted_configs),
        "deleted-models": "\n".join(deleted_models),
    }


def _tags(sm, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def _own_models(sm, config_name: str, endpoint_name: str) -> list[str]:
    """The config's models that smops created for this endpoint and that still exist."""
    variants = sm.describe_endpoint_config(EndpointConfigName=config_name).get("ProductionVariants") or []
    models = []
    for variant in variants:
        try:
            arn = sm.describe_model(ModelName=variant["ModelName"])["ModelArn"]
        except botocore.exceptions.ClientError as exc:
            if aws.is_not_found(exc):
                continue
            raise
        if _tags(sm, arn).get(ENDPOINT_TAG) == endpoint_name:
            models.append(variant["ModelName"])
    return models
