"""The endpoint configs an endpoint has served, kept in the endpoint's own tags for `smops rollback`.

One tag per config that came to serve (a deploy or a rollback that ended InService on it):
key `smops:served:<n>`, n counting up from 1, value `<config name> <model package ARN>` (or `-`
for no package). A config name is at most 63 characters and a package ARN about 130, well
inside SageMaker's 256 per tag value, and both use only characters tag values allow. The newest
KEEP entries are kept, since a resource takes 50 tags in all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smops import aws

PREFIX = "smops:served:"
KEEP = 10
_KEY = re.compile(rf"^{re.escape(PREFIX)}(\d+)$")


@dataclass(frozen=True)
class Entry:
    number: int
    config: str
    package_arn: str | None

    @property
    def version(self) -> int | None:
        """The model package version, from the ARN's last segment (…/group/3)."""
        tail = (self.package_arn or "").rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def label(self) -> str:
        return f"#{self.number} {self.config}" + (f" (v{self.version})" if self.version else "")


def read(sm, endpoint_arn: str) -> list[Entry]:
    """The history, oldest first."""
    return entries(aws.tags(sm, endpoint_arn))


def entries(tags: dict[str, str]) -> list[Entry]:
    found = []
    for key, value in tags.items():
        match = _KEY.match(key)
        if match:
            config, _, arn = value.partition(" ")
            found.append(Entry(int(match.group(1)), config, arn if arn and arn != "-" else None))
    return sorted(found, key=lambda e: e.number)


def record(sm, endpoint_arn: str, config: str, package_arn: str | None) -> Entry:
    """Add the config that now serves, unless it is already the newest entry; drop the oldest."""
    history = read(sm, endpoint_arn)
    if history and history[-1].config == config:
        return history[-1]
    entry = Entry((history[-1].number + 1) if history else 1, config, package_arn)
    sm.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": f"{PREFIX}{entry.number}", "Value": f"{config} {package_arn or '-'}"}])
    dropped = history[: max(len(history) + 1 - KEEP, 0)]
    if dropped:
        sm.delete_tags(ResourceArn=endpoint_arn, TagKeys=[f"{PREFIX}{e.number}" for e in dropped])
    return entry


def previous(history: list[Entry], serving: str) -> Entry | None:
    """The config served before the one serving now: the newest entry that is another config."""
    return next((e for e in reversed(history) if e.config != serving), None)
