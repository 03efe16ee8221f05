"""The approval bridge against the emulator (SageMaker, Secrets Manager) and the GitHub stand-in."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import run_smops
from test_infra import deployed_pattern
from smops.bridge import dispatch, handler, relay
from smops.emulator.github import GitHubStandIn
from smops.errors import BadInput, RemoteFailure

SAMPLE = Path(__file__).parent / "data" / "model-package-state-change.json"
GROUP = "churn-model"
REPOSITORY = "octo-org/churn"
DISPATCHES = f"/repos/{REPOSITORY}/dispatches"
TOKEN = "github_pat_11AAAAAAA0example0token0for0tests"


@pytest.fixture(scope="session")
def github_server():
    with GitHubStandIn() as server:
        yield server


@pytest.fixture
def github(github_server, monkeypatch):
    github_server.reset()
    dispatch.forget_credentials()
    monkeypatch.setattr(dispatch, "BACKOFF_FACTOR", 0.01)  # keep retries, skip the waiting
    monkeypatch.setenv("GITHUB_API_URL", github_server.url)
    yield github_server
    dispatch.forget_credentials()


@pytest.fixture
def secrets(aws_env):
    return boto3.client("secretsmanager")


@pytest.fixture
def bridge(sagemaker, secrets, github, monkeypatch):
    """One group with version 1 Approved, a token in Secrets Manager, the group mapped to a repo."""
    arn = secrets.create_secret(Name="smops/github", SecretString=TOKEN)["ARN"]
    monkeypatch.setenv("SMOPS_GITHUB_SECRET_ARN", arn)
    monkeypatch.setenv("SMOPS_REPOSITORY_MAP", json.dumps({GROUP: REPOSITORY}))
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    package = sagemaker.create_model_package(ModelPackageGroupName=GROUP)["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    return package


def sample_event(**detail) -> dict:
    event = json.loads(SAMPLE.read_text())
    event["detail"].update(detail)
    return event


def dispatched_tag(sagemaker, arn):
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    return tags.get(relay.DISPATCHED_TAG)


def reapprove(sagemaker, arn):
    """Reject the package, let the bridge see the rejection, approve it again: a new approval."""
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    handler(sample_event(ModelApprovalStatus="Rejected"), None)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")


def test_the_sample_is_the_documented_shape():
    event = sample_event()
    assert event["source"] == "aws.sagemaker"
    assert event["detail-type"] == "SageMaker Model Package State Change"
    assert event["resources"] == [event["detail"]["ModelPackageArn"]]
    for key in ("ModelPackageGroupName", "ModelPackageVersion", "ModelApprovalStatus",
                "ModelPackageStatus", "InferenceSpecification", "MetadataProperties",
                "CreationTime", "LastModifiedTime"):
        assert key in event["detail"]


def test_an_approval_sends_one_dispatch_with_the_payload_and_token(bridge, github, sagemaker):
    result = handler(sample_event(), None)

    assert result["action"] == "dispatched"
    [request] = github.requests
    assert (request.method, request.path) == ("POST", DISPATCHES)
    assert request.headers["Authorization"] == f"token {TOKEN}"
    assert request.body == {
        "event_type": "model_approved",
        "client_payload": {
            "model-package-arn": bridge,
            "model-package-group": GROUP,
            "model-package-version": 1,
            "region": "us-east-1",
            "account": "123456789012",
            "event-id": "5b0d3c1e-8f7a-4c2b-9e61-2d4f7a9c0b13",
        },
    }
    assert dispatched_tag(sagemaker, bridge) == "5b0d3c1e-8f7a-4c2b-9e61-2d4f7a9c0b13"  # the event's id


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"detail": {"ModelApprovalStatus": "Rejected"}}, "is 'Rejected', not 'Approved', but"),
        ({"detail": {"ModelApprovalStatus": "PendingManualApproval"}}, "not 'Approved', but"),
        ({"source": "aws.s3"}, "not a 'SageMaker Model Package State Change' event"),
        ({"detail-type": "SageMaker Model State Change"}, "not a 'SageMaker Model Package State Change'"),
    ],
)
def test_other_events_send_nothing(bridge, github, change, reason):
    event = sample_event(**change.pop("detail", {}))
    event.update(change)
    result = handler(event, None)
    assert result["action"] == "ignored"
    assert reason in result["reason"]
    assert github.requests == []


def test_a_group_outside_the_allow_list_is_ignored_before_any_call(bridge, github, monkeypatch):
    monkeypatch.setenv("SMOPS_MODEL_PACKAGE_GROUPS", "fraud-model, other")
    result = handler(sample_event(), None)
    assert result["action"] == "ignored"
    assert "not in SMOPS_MODEL_PACKAGE_GROUPS" in result["reason"]
    assert github.requests == []


def test_an_approval_for_an_unrouted_group_is_ignored(bridge, github, sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName="fraud-model")
    arn = sagemaker.create_model_package(ModelPackageGroupName="fraud-model", ModelApprovalStatus="Approved")[
        "ModelPackageArn"
    ]
    result = handler(sample_event(ModelPackageGroupName="fraud-model", ModelPackageArn=arn), None)
    assert result["action"] == "ignored"
    assert "no repository for model package group 'fraud-model'" in result["reason"]
    assert github.requests == []


def test_a_repeated_delivery_sends_one_dispatch(bridge, github):
    first = handler(sample_event(), None)
    again = handler(sample_event(), None)
    other_copy = sample_event()
    other_copy["id"] = "another-delivery-of-the-same-change"
    third = handler(other_copy, None)
    assert [first["action"], again["action"], third["action"]] == ["dispatched", "duplicate", "duplicate"]
    assert len(github.dispatches()) == 1


def test_an_edit_of_an_approved_package_dispatches_nothing(bridge, github, sagemaker):
    assert handler(sample_event(), None)["action"] == "dispatched"
    # SageMaker sends a state-change event, still Approved, for each of these.
    sagemaker.update_model_package(ModelPackageArn=bridge, ApprovalDescription="signed off by risk")
    assert handler(sample_event(), None)["action"] == "duplicate"
    sagemaker.update_model_package(ModelPackageArn=bridge, CustomerMetadataProperties={"ticket": "ML-42"})
    assert handler(sample_event(), None)["action"] == "duplicate"
    assert len(github.dispatches()) == 1


def test_a_reapproval_after_a_rejection_dispatches_again(bridge, github, sagemaker):
    assert handler(sample_event(), None)["action"] == "dispatched"
    sagemaker.update_model_package(ModelPackageArn=bridge, ModelApprovalStatus="Rejected")
    rejected = handler(sample_event(ModelApprovalStatus="Rejected"), None)
    assert rejected["action"] == "ignored" and f"removed {relay.DISPATCHED_TAG}" in rejected["reason"]
    assert dispatched_tag(sagemaker, bridge) is None
    late = handler(sample_event(), None)  # the first approval's event, delivered late
    assert late["action"] == "ignored" and "is Rejected now" in late["reason"]

    sagemaker.update_model_package(ModelPackageArn=bridge, ModelApprovalStatus="Approved")
    assert handler(sample_event(), None)["action"] == "dispatched"
    assert handler(sample_event(), None)["action"] == "duplicate"
    assert len(github.dispatches()) == 2


def test_a_late_approval_event_clears_the_tag_of_a_rejected_package(bridge, github, sagemaker):
    handler(sample_event(), None)
    sagemaker.update_model_package(ModelPackageArn=bridge, ModelApprovalStatus="Rejected")
    # The rejection's own event is still on its way; a repeat of the approval's arrives first.
    assert handler(sample_event(), None)["action"] == "ignored"
    assert dispatched_tag(sagemaker, bridge) is None


def test_a_stale_rejection_leaves_the_current_approval_alone(bridge, github, sagemaker):
    handler(sample_event(), None)
    sagemaker.update_model_package(ModelPackageArn=bridge, ModelApprovalStatus="Rejected")
    sagemaker.update_model_package(ModelPackageArn=bridge, ModelApprovalStatus="Approved")
    # The rejection's event arrives after the package was approved again: it changes nothing.
    stale = handler(sample_event(ModelApprovalStatus="Rejected"), None)
    assert stale["action"] == "ignored" and "is Approved now: the event is older" in stale["reason"]
    assert dispatched_tag(sagemaker, bridge) is not None
    assert handler(sample_event(), None)["action"] == "duplicate"
    assert len(github.dispatches()) == 1


def test_an_event_for_a_deleted_package_is_ignored(bridge, github, sagemaker):
    gone = bridge.rsplit("/", 1)[0] + "/9"
    for status in ("Approved", "Rejected"):
        result = handler(sample_event(ModelApprovalStatus=status, ModelPackageArn=gone), None)
        assert result["action"] == "ignored" and "does not exist" in result["reason"]
    assert github.requests == []


def test_each_approval_delivered_by_the_rule_dispatches_once(bridge, github, sagemaker):
    """The template's rule, the emulator's events, the handler on each delivery as in Lambda."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    queue = sqs.create_queue(QueueName="approval-bridge")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="approval-bridge", EventPattern=deployed_pattern())
    events.put_targets(Rule="approval-bridge", Targets=[{"Id": "bridge", "Arn": queue_arn}])

    def deliver(times=1):
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return [handler(json.loads(m["Body"]), None)["action"] for m in messages for _ in range(times)]

    arn = sagemaker.create_model_package(ModelPackageGroupName=GROUP)["ModelPackageArn"]
    assert deliver() == ["ignored"]  # registered, PendingManualApproval
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert deliver(times=2) == ["dispatched", "duplicate"]  # delivered twice, dispatched once
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    assert deliver() == ["ignored"]
    assert dispatched_tag(sagemaker, arn) is None
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert deliver() == ["dispatched"]
    assert [r.body["client_payload"]["model-package-arn"] for r in github.dispatches()] == [arn, arn]


def test_routing_by_the_group_tag_and_by_smops_repository(bridge, github, sagemaker, monkeypatch):
    monkeypatch.delenv("SMOPS_REPOSITORY_MAP")
    group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=GROUP)["ModelPackageGroupArn"]
    tag = {"Key": "smops:github-repository", "Value": "octo-org/tagged"}
    sagemaker.add_tags(ResourceArn=group_arn, Tags=[tag])
    assert handler(sample_event(), None)["repository"] == "octo-org/tagged"

    reapprove(sagemaker, bridge)
    monkeypatch.setenv("SMOPS_REPOSITORY", "octo-org/everything")
    assert handler(sample_event(), None)["repository"] == "octo-org/everything"
    assert [r.path for r in github.dispatches()] == [
        "/repos/octo-org/tagged/dispatches",
        "/repos/octo-org/everything/dispatches",
    ]


def app_secret(app_id=31337, installation_id=42):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    secret = json.dumps({"app_id": app_id, "private_key": pem, "installation_id": installation_id})
    return secret, key.public_key()


def test_github_app_credentials_exchange_a_token_once_then_dispatch(bridge, github, secrets, sagemaker):
    secret, public_key = app_secret()
    secrets.put_secret_value(SecretId="smops/github", SecretString=secret)

    handler(sample_event(), None)
    exchange, sent = github.requests
    assert (exchange.method, exchange.path) == ("POST", "/app/installations/42/access_tokens")
    scheme, app_jwt = exchange.headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer"
    assert jwt.decode(app_jwt, public_key, algorithms=["RS256"])["iss"] == "31337"
    assert (sent.method, sent.path) == ("POST", DISPATCHES)
    assert sent.headers["Authorization"] == f"token {github.tokens[0]}"

    # A warm invocation reuses the installation token: no second exchange.
    reapprove(sagemaker, bridge)
    handler(sample_event(), None)
    assert [r.path for r in github.requests[2:]] == [DISPATCHES]
    assert github.requests[2].headers["Authorization"] == f"token {github.tokens[0]}"


def test_an_app_that_is_not_installed_is_named(bridge, github, secrets):
    secrets.put_secret_value(SecretId="smops/github", SecretString=app_secret()[0])
    github.fail("/app/installations/42/access_tokens", 404)
    with pytest.raises(RemoteFailure, match="installation 42 does not exist"):
        handler(sample_event(), None)
    assert github.dispatches() == []


def test_github_401_raises_and_the_retry_rereads_the_secret(bridge, github, secrets, sagemaker):
    github.fail(DISPATCHES, 401)
    with pytest.raises(RemoteFailure, match=r"GitHub answered 401 \(Bad credentials\).*token is wrong"):
        handler(sample_event(), None)
    assert dispatched_tag(sagemaker, bridge) is None  # not recorded: the retry must send it

    secrets.put_secret_value(SecretId="smops/github", SecretString="github_pat_rotated")
    assert handler(sample_event(), None)["action"] == "dispatched"
    assert github.requests[-1].headers["Authorization"] == "token github_pat_rotated"


@pytest.mark.parametrize(
    "status, cause",
    [(403, "Contents: write"), (404, f"{REPOSITORY} was not found"), (422, "at most 10 top-level keys")],
)
def test_other_refusals_name_their_cause_without_retrying(bridge, github, status, cause):
    github.fail(DISPATCHES, status)
    with pytest.raises(RemoteFailure, match=cause):
        handler(sample_event(), None)
    assert len(github.dispatches()) == 1


def test_github_500_is_retried_then_succeeds(bridge, github):
    github.fail(DISPATCHES, 500, times=2)
    assert handler(sample_event(), None)["action"] == "dispatched"
    assert len(github.dispatches()) == 3


def test_github_500_after_every_retry_raises_and_records_nothing(bridge, github, sagemaker):
    github.fail(DISPATCHES, 502, times=10)
    with pytest.raises(RemoteFailure, match="GitHub answered 502.*githubstatus"):
        handler(sample_event(), None)
    assert len(github.dispatches()) == dispatch.RETRIES + 1
    assert dispatched_tag(sagemaker, bridge) is None


def test_an_unreachable_github_is_retried_then_raises(bridge, github, monkeypatch, caplog):
    with GitHubStandIn() as gone:
        url = gone.url
    monkeypatch.setenv("GITHUB_API_URL", url)
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    with pytest.raises(RemoteFailure, match=f"could not reach GitHub at {url} after 4 attempts"):
        handler(sample_event(), None)
    retries = [r for r in caplog.records if "NewConnectionError" in r.getMessage()]
    assert len(retries) == dispatch.RETRIES  # the connection never opened: safe to try again


@pytest.mark.parametrize("fault", ["stall", "hang_up"])
def test_a_dispatch_without_an_answer_is_not_sent_twice(bridge, github, sagemaker, monkeypatch, fault):
    monkeypatch.setattr(dispatch, "TIMEOUT_SECONDS", 1)  # PyGithub takes whole seconds
    if fault == "stall":
        github.stall(DISPATCHES, 30.0)  # GitHub takes the dispatch, but answers long after the timeout
    else:
        github.hang_up(DISPATCHES)  # the connection drops after the request went out
    with pytest.raises(RemoteFailure, match="did not answer.*re-send with `smops dispatch --model-package-arn"):
        handler(sample_event(), None)
    assert len(github.dispatches()) == 1  # not repeated within the invocation...
    assert dispatched_tag(sagemaker, bridge) == "unconfirmed 5b0d3c1e-8f7a-4c2b-9e61-2d4f7a9c0b13"

    retry = handler(sample_event(), None)  # ...nor by Lambda's retry
    assert retry["action"] == "duplicate" and "may have been dispatched" in retry["reason"]
    assert len(github.dispatches()) == 1


def test_a_token_request_without_an_answer_records_nothing(bridge, github, secrets, sagemaker, monkeypatch):
    secrets.put_secret_value(SecretId="smops/github", SecretString=app_secret()[0])
    monkeypatch.setattr(dispatch, "TIMEOUT_SECONDS", 1)  # PyGithub takes whole seconds
    github.stall("/app/installations/42/access_tokens", 30.0)
    with pytest.raises(RemoteFailure, match="did not answer.*installation 42.*safe to repeat"):
        handler(sample_event(), None)
    assert github.dispatches() == []
    assert dispatched_tag(sagemaker, bridge) is None  # the retry will dispatch


def test_no_secret_appears_in_any_log(bridge, github, secrets, sagemaker, monkeypatch, caplog, capsys):
    app, _ = app_secret()
    app_arn = secrets.create_secret(Name="smops/github-app", SecretString=app)["ARN"]
    caplog.set_level(logging.DEBUG)  # from here on: botocore, urllib3 and PyGithub at their chattiest

    handler(sample_event(), None)  # a token
    monkeypatch.setenv("SMOPS_GITHUB_SECRET_ARN", app_arn)
    reapprove(sagemaker, bridge)
    handler(sample_event(), None)  # a GitHub App
    reapprove(sagemaker, bridge)
    github.fail(DISPATCHES, 401)
    with pytest.raises(RemoteFailure) as failure:
        handler(sample_event(), None)

    captured = capsys.readouterr()
    logs = "\n".join([caplog.text, captured.out, captured.err, str(failure.value)])
    assert "dispatched model_approved" in logs and "GetSecretValue" in caplog.text  # logs were captured
    private_key_line = json.loads(app)["private_key"].splitlines()[1]
    assert github.tokens
    for secret in (TOKEN, private_key_line, *github.tokens):
        assert secret not in logs


def test_bad_settings_are_refused(monkeypatch):
    monkeypatch.setenv("SMOPS_REPOSITORY_MAP", "churn-model=octo-org/churn")
    with pytest.raises(BadInput, match="SMOPS_REPOSITORY_MAP is not a JSON object"):
        relay.Settings.from_env()
    monkeypatch.setenv("SMOPS_REPOSITORY_MAP", json.dumps({"churn-model": "not a repo"}))
    with pytest.raises(BadInput, match="is not owner/repo"):
        relay.Settings.from_env()


@pytest.mark.parametrize(
    "secret, problem",
    [
        ("", "the GitHub secret is empty"),
        ('{"app_id": 1', "looks like JSON but does not parse"),
        ('{"app_id": 1, "installation_id": 2}', "has no private_key"),
        ('{"app_id": 1, "private_key": "k", "installation_id": "x"}', "installation_id is not a number"),
    ],
)
def test_a_malformed_secret_is_refused(secret, problem):
    with pytest.raises(BadInput, match=problem):
        dispatch.parse_secret(secret)


# -- smops dispatch, as a process ------------------------------------------------------------


def write_event(tmp_path, event) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_smops_dispatch_runs_the_bridge_on_a_saved_event(bridge, github, tmp_path, outputs, summary):
    result = run_smops("dispatch", "--event", write_event(tmp_path, sample_event()))
    assert result.returncode == 0, result.stderr
    assert outputs() == {
        "action": "dispatched",
        "model-package-arn": bridge,
        "repository": REPOSITORY,
        "event-type": "model_approved",
        "event-id": "5b0d3c1e-8f7a-4c2b-9e61-2d4f7a9c0b13",
    }
    assert REPOSITORY in summary()
    [request] = github.dispatches()
    assert request.headers["Authorization"] == f"token {TOKEN}"
    assert TOKEN not in result.stdout + result.stderr

    again = run_smops("dispatch", "--event", write_event(tmp_path, sample_event()), "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["action"] == "duplicate"
    assert len(github.dispatches()) == 1


def test_smops_dispatch_takes_a_failure_record_from_the_dead_letter_queue(bridge, github, tmp_path):
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": sample_event(),
        "responsePayload": {"errorMessage": "GitHub answered 401 (Bad credentials) for octo-org/churn"},
    }
    result = run_smops("dispatch", "--event", write_event(tmp_path, record), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "dispatched"
    assert len(github.dispatches()) == 1


def test_smops_dispatch_resends_by_hand_with_github_token(bridge, github, monkeypatch, outputs):
    handler(sample_event(), None)  # dispatched and recorded; a re-send by hand goes out anyway
    monkeypatch.delenv("SMOPS_GITHUB_SECRET_ARN")
    result = run_smops(
        "dispatch", "--model-package-arn", bridge, "--repository", "octo-org/other",
        "--event-type", "redeploy", env={"GITHUB_TOKEN": "ghp_from_the_workflow"},
    )
    assert result.returncode == 0, result.stderr
    assert outputs()["action"] == "dispatched"
    assert outputs()["event-id"].startswith("manual-")
    sent = github.dispatches()[-1]
    assert sent.path == "/repos/octo-org/other/dispatches"
    assert sent.headers["Authorization"] == "token ghp_from_the_workflow"
    assert sent.body["event_type"] == "redeploy"


def test_smops_dispatch_exit_codes(bridge, github, sagemaker, tmp_path):
    neither = run_smops("dispatch")
    assert neither.returncode == 2
    assert "give either --event FILE or --model-package-arn ARN" in neither.stderr

    sagemaker.update_model_package(ModelPackageArn=bridge, ModelApprovalStatus="Rejected")
    rejected = run_smops("dispatch", "--model-package-arn", bridge)
    assert rejected.returncode == 2
    assert "is Rejected now, not Approved: approve it first" in rejected.stderr

    sagemaker.update_model_package(ModelPackageArn=bridge, ModelApprovalStatus="Approved")
    github.fail(DISPATCHES, 401)
    refused = run_smops("dispatch", "--event", write_event(tmp_path, sample_event()))
    assert refused.returncode == 1
    assert "GitHub answered 401 (Bad credentials)" in refused.stderr
    assert github.dispatches()


def test_handler_does_not_change_the_event(bridge, github):
    event = sample_event()
    before = copy.deepcopy(event)
    handler(event, None)
    assert event == before
