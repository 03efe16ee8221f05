"""The approval bridge: a model package approved in SageMaker becomes a GitHub repository_dispatch.

`smops.bridge.handler` is the Lambda entry point (see infra/approval-bridge.yaml). The work is split
by concern: `relay` reads the event, routes it and deduplicates it; `dispatch` talks to GitHub;
`package` builds the Lambda zip. Only boto3 and PyGithub are imported here, never the SageMaker
SDK or moto.
"""

from __future__ import annotations

from smops.bridge import relay


def handler(event: dict, context: object = None) -> dict:
    """Lambda entry point. Ignored events return normally; failures raise so Lambda retries and
    the dead-letter queue keeps the event."""
    return relay.handle(event, relay.Settings.from_env())
