"""The approval bridge: a model package approved in SageMaker becomes a GitHub repository_dispatch.

`smops.bridge.handler` is the Lambda entry point (see infra/approval-bridge.yaml). The work is split
by concern: `relay` reads an approval event, routes it and deduplicates it; `drift` does the same
for Model Monitor's drift (model_drift); `dispatch` talks to GitHub;
`package` builds the Lambda zip. Only boto3 and PyGithub are imported here, never the SageMaker
SDK or moto.
"""

from __future__ import annotations

from smops.bridge import drift, relay


def handler(event: dict, context: object = None) -> dict:
    """Lambda entry point. Ignored events return normally; failures raise so Lambda retries and
    the dead-letter queue keeps the event."""
    return route(event, relay.Settings.from_env())


def route(event: dict, settings: relay.Settings) -> dict:
    """Model Monitor's drift to `drift`, model package state changes to `relay`."""
    return drift.handle(event, settings) if drift.matches(event) else relay.handle(event, settings)
