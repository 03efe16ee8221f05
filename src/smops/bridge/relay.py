"""From a "SageMaker Model Package State Change" event to one repository_dispatch per approval.

Routing: SMOPS_REPOSITORY (or --repository), when set, receives every approval; otherwise the
group's entry in SMOPS_REPOSITORY_MAP (JSON {"group": "owner/repo"}); otherwise the group's
`smops:github-repository` tag. SMOPS_MODEL_PACKAGE_GROUPS (comma-separated) is an allow-list.

Exactly once per approval: EventBridge may deliver an event more than once, SageMaker may send
several per change, and it sends one for any later change to an approved package too (its
description, metadata, lifecycle stage), with ModelApprovalStatus still Approved. So the bridge
keeps one fact on the package, the tag `smops:dispatched-approval`: present while the package's
current approval has been dispatched.
- An Approved event dispatches only when the package is Approved now (DescribeModelPackage, not the
  event) and has no tag; the tag (the event's id) is written once GitHub accepted the dispatch. A
  repeat delivery, or the event for an edit of the approved package, finds the tag: a duplicate.
- Any other status (the rule passes every state change of the groups): when the package is not
  Approved now, the tag is removed, so approving it again after a rejection dispatches again.
  When it is Approved again by then, this event is stale and the tag stays.
- When the dispatch went out and GitHub did not answer, the tag is written as `unconfirmed <id>`
  and the invocation fails: Lambda's retry then finds the tag rather than risk a second deploy, and
  the error says how to check and re-send.
A tag, not CustomerMetadataProperties: tagging leaves the package (and its LastModifiedTime) alone,
where UpdateModelPackage would change it and could itself raise another state-change event, and the
bridge's role needs no right to update packages.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field, replace

from smops import aws, gha
from smops.bridge import dispatch
from smops.errors import BadInput, RemoteFailure
from smops.registry import PACKAGE_ARN

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
DEFAULT_EVENT_TYPE = "model_approved"
REPOSITORY_TAG = "smops:github-repository"
DISPATCHED_TAG = "smops:dispatched-approval"
UNCONFIRMED = "unconfirmed"  # the tag's value when GitHub did not answer the dispatch
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")
EVENT_TYPE_MAX = 100
SAVED_EVENT = "pass a saved EventBridge event (JSON)"
# The environment the Lambda reads (infra/approval-bridge.yaml sets them).
ENVIRONMENT = (
    "SMOPS_GITHUB_SECRET_ARN", "SMOPS_REPOSITORY", "SMOPS_REPOSITORY_MAP",
    "SMOPS_MODEL_PACKAGE_GROUPS", "SMOPS_EVENT_TYPE", "GITHUB_API_URL",
)


@dataclass(frozen=True)
class Settings:
    """What the bridge needs to know, from the Lambda's environment or the command line."""

    secret_id: str | None = None
    repository: str | None = None
    repository_map: dict[str, str] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    event_type: str = DEFAULT_EVENT_TYPE
    api_url: str = dispatch.DEFAULT_API_URL
    region: str | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.event_type) <= EVENT_TYPE_MAX:
            raise BadInput(f"event type {self.event_type!r} is invalid", "use 1 to 100 characters")
        for repository in filter(None, [self.repository, *self.repository_map.values()]):
            _check_repository(repository, "SMOPS_REPOSITORY / SMOPS_REPOSITORY_MAP")

    @classmethod
    def from_env(cls) -> Settings:
        env = {name: os.environ.get(name, "").strip() for name in ENVIRONMENT}
        return cls(
            secret_id=env["SMOPS_GITHUB_SECRET_ARN"] or None,
            repository=env["SMOPS_REPOSITORY"] or None,
            repository_map=_repository_map(env["SMOPS_REPOSITORY_MAP"]),
            groups=frozenset(g.strip() for g in env["SMOPS_MODEL_PACKAGE_GROUPS"].split(",") if g.strip()),
            event_type=env["SMOPS_EVENT_TYPE"] or DEFAULT_EVENT_TYPE,
            api_url=env["GITHUB_API_URL"] or dispatch.DEFAULT_API_URL,
        )


def _repository_map(text: str) -> dict[str, str]:
    if not text:
        return {}
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise BadInput(
            "SMOPS_REPOSITORY_MAP is not a JSON object of strings",
            'write it as {"model-package-group": "owner/repo", ...}',
        )
    return mapping


def _check_repository(repository: str, source: str) -> None:
    if not REPOSITORY.match(repository):
        raise BadInput(f"repository {repository!r} from {source} is not owner/repo", "e.g. octo-org/churn")


def handle(event: dict, settings: Settings) -> dict[str, object]:
    """Handle one EventBridge event: dispatch, or say why not. Raises when GitHub refused."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    arn = str(detail.get("ModelPackageArn") or "")
    reason = _not_for_us(event, detail, settings)
    if reason:
        return _skipped("ignored", reason, arn)
    status = detail.get("ModelApprovalStatus")
    if status != "Approved":
        return withdraw(arn, f"ModelApprovalStatus is {status!r}, not 'Approved'", settings)
    return deliver(arn, str(event.get("id") or ""), settings, again=False)


def _not_for_us(event: dict, detail: dict, settings: Settings) -> str | None:
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        found = f"{event.get('source')!r}, {event.get('detail-type')!r}"
        return f"not a '{DETAIL_TYPE}' event from {SOURCE} ({found})"
    if not PACKAGE_ARN.match(str(detail.get("ModelPackageArn") or "")):
        return "the event has no model package ARN in detail.ModelPackageArn"
    group = detail.get("ModelPackageGroupName")
    if settings.groups and group not in settings.groups:
        return f"model package group {group!r} is not in SMOPS_MODEL_PACKAGE_GROUPS"
    return None


def deliver(arn: str, event_id: str, settings: Settings, *, again: bool) -> dict[str, object]:
    """Dispatch the package's current approval. With again=True (a re-send by hand) it dispatches
    even when that approval was dispatched before, and refuses rather than ignores."""
    sagemaker, region, account = _sagemaker(arn, settings)
    package = _describe(sagemaker, arn)
    if package is None:
        if again:
            raise BadInput(f"model package {arn} does not exist", "check the ARN (smops build prints it)")
        return _skipped("ignored", f"model package {arn} does not exist (any more)", arn)
    arn = package["ModelPackageArn"]  # SageMaker's spelling, whatever the event or the caller wrote
    group = package.get("ModelPackageGroupName", "")
    status = package.get("ModelApprovalStatus")
    if status != "Approved":
        problem = f"{arn} is {status} now, not Approved"
        if again:
            raise BadInput(problem, "approve it first (smops approve) or pick an Approved package")
        return _clear(sagemaker, arn, f"{problem}: the approval was withdrawn before this delivery")
    repository = _route(group, settings, sagemaker)
    if not repository:
        problem = f"no repository for model package group {group!r}"
        fix = f"set SMOPS_REPOSITORY, add the group to SMOPS_REPOSITORY_MAP or tag it {REPOSITORY_TAG}"
        if again:
            raise BadInput(problem, fix)
        return _skipped("ignored", f"{problem}: {fix}", arn)
    dispatched = _dispatched(sagemaker, arn)
    if not again and dispatched is not None:
        done = "may have been dispatched" if dispatched.startswith(UNCONFIRMED) else "was dispatched already"
        return _skipped("duplicate", f"this approval {done} ({DISPATCHED_TAG}={dispatched})", arn, repository)
    payload = {
        "model-package-arn": arn,
        "model-package-group": group,
        "model-package-version": package.get("ModelPackageVersion"),
        "region": region,
        "account": account,
        "event-id": event_id,
    }
    github = dispatch.client(settings.api_url, settings.secret_id, settings.region, settings.profile)
    try:
        dispatch.send(github, repository, settings.event_type, payload)
    except dispatch.NoAnswer as exc:
        _record(sagemaker, arn, f"{UNCONFIRMED} {event_id}")
        raise RemoteFailure(
            f"{exc.problem}, so the {settings.event_type} dispatch for {arn} may or may not have gone "
            f"out; marked {DISPATCHED_TAG}={UNCONFIRMED} so that no retry sends it twice",
            f"if no {settings.event_type} run started in {repository}, re-send with "
            f"`smops dispatch --model-package-arn {arn}`",
        ) from None
    gha.log(f"dispatched {settings.event_type} for {arn} to {repository} (event {event_id})")
    _record(sagemaker, arn, event_id)
    return {
        "action": "dispatched",
        "model-package-arn": arn,
        "repository": repository,
        "event-type": settings.event_type,
        "event-id": event_id,
    }


def withdraw(arn: str, reason: str, settings: Settings) -> dict[str, object]:
    """A state change away from Approved: forget the dispatched approval, unless the package is
    Approved again by now (then this event is stale and the current approval's tag stays)."""
    sagemaker, _, _ = _sagemaker(arn, settings)
    package = _describe(sagemaker, arn)
    if package is None:
        return _skipped("ignored", f"{reason}, and model package {arn} does not exist (any more)", arn)
    if package.get("ModelApprovalStatus") == "Approved":
        return _skipped(
            "ignored", f"{reason}, but {package['ModelPackageArn']} is Approved now: the event is older", arn
        )
    return _clear(sagemaker, package["ModelPackageArn"], reason)


def _sagemaker(arn: str, settings: Settings):
    """A SageMaker client in the package's region, with the region and account its ARN names."""
    match = PACKAGE_ARN.match(arn)
    if not match:
        raise BadInput(
            f"{arn!r} is not a model package ARN", "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/N"
        )
    region, account = match.groups()
    return aws.client("sagemaker", region, settings.profile), region, account


def _describe(sagemaker, arn: str) -> dict | None:
    """DescribeModelPackage, or None when the package is gone (deleted since the event was sent)."""
    import botocore.exceptions

    try:
        return sagemaker.describe_model_package(ModelPackageName=arn)
    except botocore.exceptions.ClientError as exc:
        if aws.is_not_found(exc):
            return None
        raise


def _route(group: str, settings: Settings, sagemaker) -> str | None:
    if settings.repository:
        return settings.repository
    if group in settings.repository_map:
        return settings.repository_map[group]
    group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    repository = aws.tags(sagemaker, group_arn).get(REPOSITORY_TAG)
    if repository:
        _check_repository(repository, f"the {REPOSITORY_TAG} tag of {group}")
    return repository


def _dispatched(sagemaker, arn: str) -> str | None:
    return aws.tags(sagemaker, arn).get(DISPATCHED_TAG)


def _record(sagemaker, arn: str, value: str) -> None:
    import botocore.exceptions

    try:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": DISPATCHED_TAG, "Value": value}])
    except botocore.exceptions.ClientError as exc:
        # The dispatch went out; failing now would only send it again on the retry.
        gha.warning(
            f"dispatched, but could not tag {arn} with {DISPATCHED_TAG} ({aws.error_code(exc)}): "
            "a repeated delivery of this approval would dispatch again; allow sagemaker:AddTags"
        )


def _clear(sagemaker, arn: str, reason: str) -> dict[str, object]:
    """Remove the dispatched-approval tag, so that the next approval dispatches. A failure raises:
    Lambda retries, and a re-approval would otherwise be taken for a duplicate."""
    if _dispatched(sagemaker, arn) is not None:
        sagemaker.delete_tags(ResourceArn=arn, TagKeys=[DISPATCHED_TAG])
        reason += f"; removed {DISPATCHED_TAG}, so the next approval dispatches"
    return _skipped("ignored", reason, arn)


def _skipped(action: str, reason: str, arn: str, repository: str = "") -> dict[str, object]:
    gha.log(f"{action}: {reason}")
    return {"action": action, "reason": reason, "model-package-arn": arn, "repository": repository}


def run_dispatch(args) -> dict[str, object]:
    """`smops dispatch`: the bridge on a saved event, or a re-send for one model package."""
    if bool(args.event) == bool(args.model_package_arn):
        raise BadInput("give either --event FILE or --model-package-arn ARN", "see `smops dispatch --help`")
    settings = replace(
        Settings.from_env(),
        secret_id=args.github_secret_arn,
        repository=args.repository,
        event_type=args.event_type,
        api_url=args.github_api_url or os.environ.get("GITHUB_API_URL") or dispatch.DEFAULT_API_URL,
        region=args.region,
        profile=args.profile,
    )
    if args.event:
        from smops import bridge

        outputs = bridge.route(_load_event(args.event), settings)
    else:
        outputs = deliver(args.model_package_arn, f"manual-{uuid.uuid4()}", settings, again=True)
    if outputs["action"] == "dispatched":
        gha.add_summary(
            f"Sent `{outputs['event-type']}` to **{outputs['repository']}** for "
            f"`{outputs.get('model-package-arn') or outputs.get('endpoint-name')}`."
        )
    return outputs


def _load_event(path: str) -> dict:
    """The saved event, also as found in the dead-letter queue: a Lambda failure record wraps it
    in requestPayload."""
    try:
        with open(path, encoding="utf-8") as fh:
            event = json.load(fh)
    except OSError as exc:
        raise BadInput(f"cannot read --event {path}: {exc.strerror}", SAVED_EVENT) from None
    except ValueError as exc:
        raise BadInput(f"--event {path} is not JSON ({exc})", SAVED_EVENT) from None
    if isinstance(event, dict) and isinstance(event.get("requestPayload"), dict):
        event = event["requestPayload"]
    if not isinstance(event, dict):
        raise BadInput(f"--event {path} is not a JSON object", SAVED_EVENT)
    return event
