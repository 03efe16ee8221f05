"""`smops cleanup`: delete the endpoint configs and models smops created and no longer needs.

Only resources tagged smops:endpoint=<endpoint> are candidates, so configs made by hand or by
other tools are never touched; the config the endpoint serves (and one being deployed) is kept
with the --keep newest, and so are their models. The config `smops rollback` would return to
(the previous one of the endpoint's history) is kept too; deleting an older config of that
history is said in the log and the summary, since `smops rollback` can no longer return to it.
A model smops created whose config never came to be (a failed deploy) is deleted too.

Another hand may be at work on the endpoint: a deploy creates its model and config a moment
before it asks the endpoint to deploy them, and a rollback starts at any time. So a config or
model made in the last --min-age minutes is kept, and the endpoint is read again just before the
deletions, so that a config an update in progress deploys (PendingDeploymentSummary) is never
deleted (AWS: "You must not delete an EndpointConfig ... while the UpdateEndpoint or
CreateEndpoint operations are being performed on the endpoint").
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import botocore.exceptions

from smops import aws, endpoint, gha
from smops.deploy import history
from smops.deploy.plan import ENDPOINT_TAG
from smops.errors import BadInput

# Names start with the endpoint's, cut to fit 63 characters with the -v<version>-<time> suffix.
NAME_PREFIX = 40


def run(args) -> dict[str, str]:
    endpoint.check_name(args.endpoint_name)
    if args.keep < 0:
        raise BadInput(f"--keep {args.keep} is negative", "keep 0 or more old configs")
    if args.min_age < 0:
        raise BadInput(f"--min-age {args.min_age:g} is negative", "give minutes, 0 or more")
    sm = aws.client("sagemaker", args.region, args.profile)
    current = endpoint.describe(sm, args.endpoint_name)
    in_use = _in_use(current)
    served = history.read(sm, current["EndpointArn"]) if current else []
    target = history.previous(served, current["EndpointConfigName"]) if current else None

    since = datetime.now(timezone.utc) - timedelta(minutes=args.min_age)
    configs = ours(sm, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn", args.endpoint_name)
    models = ours(sm, "list_models", "Models", "ModelArn", args.endpoint_name)
    young = {name for name, created in {**configs, **models}.items() if created > since}
    if not args.dry_run:  # what an update begun since the first read deploys is in use too
        in_use |= _in_use(endpoint.describe(sm, args.endpoint_name))
    beyond_keep = [c for c in configs if c not in in_use][args.keep :]
    older = [c for c in beyond_keep if not (target and c == target.config) and c not in young]
    lost = {e.config: e for e in served if e.config in older}
    kept = [c for c in configs if c not in older]
    kept_models = {model for config in kept for model in _variant_models(sm, config)}
    unused_models = [m for m in models if m not in kept_models and m not in young]

    verb = "would delete" if args.dry_run else "deleting"
    for config in older:
        gha.log(f"{verb} endpoint config {config}" + (f": {_lost(lost[config])}" if config in lost else ""))
        if not args.dry_run:
            sm.delete_endpoint_config(EndpointConfigName=config)
    for model in unused_models:
        gha.log(f"{verb} model {model}")
        if not args.dry_run:
            sm.delete_model(ModelName=model)
    gha.log(f"kept {len(kept)} config(s): " + (", ".join(f"{k} ({_why_kept(k, in_use, target, young)})" for k in kept) or "none"))
    fate = "would be deleted" if args.dry_run else "deleted"
    gha.add_summary(
        f"### smops cleanup{' (dry run)' if args.dry_run else ''}: `{args.endpoint_name}`\n\n"
        + gha.table(
            ["resource", "fate"],
            [[f"config `{k}`", f"kept ({_why_kept(k, in_use, target, young)})"] for k in kept]
            + [[f"config `{c}`", fate + (f": {_lost(lost[c])}" if c in lost else "")] for c in older]
            + [[f"model `{m}`", fate] for m in unused_models],
        )
    )
    return {"deleted-endpoint-configs": "\n".join(older), "deleted-models": "\n".join(unused_models)}


def _in_use(found: dict | None) -> set[str]:
    """The config an endpoint serves and the one an update in progress deploys."""
    if not found:
        return set()
    return {found["EndpointConfigName"]} | ({endpoint.pending(found)} - {None})


def _why_kept(config: str, in_use: set[str], target: history.Entry | None, young: set[str]) -> str:
    if config in in_use:
        return "in use"
    if target and config == target.config:
        return "what `smops rollback` returns to"
    return "made within --min-age: a deploy may be about to use it" if config in young else "among the --keep newest"


def _lost(entry: history.Entry) -> str:
    return f"history entry {entry.label()}, which `smops rollback` can no longer return to"


def ours(sm, operation: str, key: str, arn_key: str, endpoint_name: str) -> dict[str, datetime]:
    """The configs or models tagged for this endpoint, newest first: name → creation time."""
    pages = sm.get_paginator(operation).paginate(
        NameContains=endpoint_name[:NAME_PREFIX], SortBy="CreationTime", SortOrder="Descending"
    )
    name_key = arn_key.removesuffix("Arn") + "Name"
    return {
        item[name_key]: item["CreationTime"]
        for page in pages
        for item in page[key]
        if aws.tags(sm, item[arn_key]).get(ENDPOINT_TAG) == endpoint_name
    }


def _variant_models(sm, config_name: str) -> list[str]:
    try:
        variants = sm.describe_endpoint_config(EndpointConfigName=config_name).get("ProductionVariants") or []
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc):
            return []
        raise
    return [v["ModelName"] for v in variants]
