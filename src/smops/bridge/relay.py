"""From a "SageMaker Model Package State Change" event to one repository_dispatch per approval.

Routing: SMOPS_REPOSITORY (or --repository), when set, receives every approval; otherwise the
group's entry in SMOPS_REPOSITORY_MAP (JSON {"group": "owner/repo"}); otherwise the group's
`smops:github-repository` tag. SMOPS_MODEL_PACKAGE_GROUPS (comma-separated) is an allow-list.

Deduplication: EventBridge may deliver an event more than once and SageMaker may send several per
change. An approval is identified by the package's LastModifiedTime while it is Approved (read back
with DescribeModelPackage, not taken from the event), and a dispatched approval is recorded as the
package tag `smops:dispatched-approval`. A repeat delivery finds the tag and is skipped; a
re-approval after a rejection has a new LastModifiedTime and dispatches again; a delivery that
arrives after the package was rejected is ignored. A tag, not CustomerMetadataProperties: AddTags
leaves the package (and its LastModifiedTime) alone, where UpdateModelPackage would change it and
could itself raise another state-change event, and the bridge's role needs no right to update
packages. The tag is written after GitHub accepted the dispatch: a failure in between repeats the
dispatch rather than losing it.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import timezone

from smops import aws, gha
from smops.bridge import dispatch
from smops.errors import BadInput

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
DEFAULT_EVENT_TYPE = "model_approved"
REPOSITORY_TAG = "smops:github-repository"
DISPATCHED_TAG = "smops:dispatched-approval"
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):model-package/.+$")
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
    return deliver(arn, str(event.get("id") or ""), settings, again=False)


def _not_for_us(event: dict, detail: dict, settings: Settings) -> str | None:
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        found = f"{event.get('source')!r}, {event.get('detail-type')!r}"
        return f"not a '{DETAIL_TYPE}' event from {SOURCE} ({found})"
    status = detail.get("ModelApprovalStatus")
    if status != "Approved":
        return f"ModelApprovalStatus is {status!r}, not 'Approved'"
    if not PACKAGE_ARN.match(str(detail.get("ModelPackageArn") or "")):
        return "the event has no model package ARN in detail.ModelPackageArn"
    group = detail.get("ModelPackageGroupName")
    if settings.groups and group not in settings.groups:
        return f"model package group {group!r} is not in SMOPS_MODEL_PACKAGE_GROUPS"
    return None


def deliver(arn: str, event_id: str, settings: Settings, *, again: bool) -> dict[str, object]:
    """Dispatch the package's current approval. With again=True (a re-send by hand) it dispatches
    even when that approval was dispatched before, and refuses rather than ignores."""
    match = PACKAGE_ARN.match(arn)
    if not match:
        raise BadInput(
            f"{arn!r} is not a model package ARN", "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/N"
        )
    region, account = match.groups()
    sagemaker = aws.client("sagemaker", region, settings.profile)
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    group = package.get("ModelPackageGroupName", "")
    status = package.get("ModelApprovalStatus")
    if status != "Approved":
        problem = f"{arn} is {status} now, not Approved"
        if again:
            raise BadInput(problem, "approve it first (smops approve) or pick an Approved package")
        return _skipped("ignored", f"{problem}: the approval was withdrawn before this delivery", arn)
    repository = _route(group, settings, sagemaker)
    if not repository:
        problem = f"no repository for model package group {group!r}"
        fix = f"set SMOPS_REPOSITORY, add the group to SMOPS_REPOSITORY_MAP or tag it {REPOSITORY_TAG}"
        if again:
            raise BadInput(problem, fix)
        return _skipped("ignored", f"{problem}: {fix}", arn)
    approval = approval_key(package)
    if not again and _dispatched(sagemaker, arn) == approval:
        return _skipped("duplicate", f"this approval ({approval}) was dispatched already", arn, repository)
    payload = {
        "model-package-arn": arn,
        "model-package-group": group,
        "model-package-version": package.get("ModelPackageVersion"),
        "region": region,
        "account": account,
        "event-id": event_id,
    }
    github = dispatch.client(settings.api_url, settings.secret_id, settings.region, settings.profile)
    dispatch.send(github, repository, settings.event_type, payload)
    gha.log(f"dispatched {settings.event_type} for {arn} (approved {approval}) to {repository}")
    _record(sagemaker, arn, approval)
    return {
        "action": "dispatched",
        "model-package-arn": arn,
        "repository": repository,
        "event-type": settings.event_type,
        "event-id": event_id,
    }


def approval_key(package: dict) -> str:
    """One approval: the time the package last changed while it is Approved, in UTC."""
    moment = package.get("LastModifiedTime") or package["CreationTime"]
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _route(group: str, settings: Settings, sagemaker) -> str | None:
    if settings.repository:
        return settings.repository
    if group in settings.repository_map:
        return settings.repository_map[group]
    group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    repository = _tags(sagemaker, group_arn).get(REPOSITORY_TAG)
    if repository:
        _check_repository(repository, f"the {REPOSITORY_TAG} tag of {group}")
    return repository


def _tags(sagemaker, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def _dispatched(sagemaker, arn: str) -> str | None:
    return _tags(sagemaker, arn).get(DISPATCHED_TAG)


def _record(sagemaker, arn: str, approval: str) -> None:
    import botocore.exceptions

    try:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": DISPATCHED_TAG, "Value": approval}])
    except botocore.exceptions.ClientError as exc:
        # The dispatch went out; failing now would only send it again on the retry.
        gha.warning(
            f"dispatched, but could not tag {arn} with {DISPATCHED_TAG} ({aws.error_code(exc)}): "
            "a repeated delivery of this approval would dispatch again; allow sagemaker:AddTags"
        )


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
        outputs = handle(_load_event(args.event), settings)
    else:
        outputs = deliver(args.model_package_arn, f"manual-{uuid.uuid4()}", settings, again=True)
    if outputs["action"] == "dispatched":
        gha.add_summary(
            f"Sent `{outputs['event-type']}` to **{outputs['repository']}** for "
            f"`{outputs['model-package-arn']}`."
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
