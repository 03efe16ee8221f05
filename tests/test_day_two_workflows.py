"""The rollback workflows' contract (tests/test_workflows_act.py runs them on act)."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get(True) or workflow.get("on") or {}


def test_rollback_workflow_contract():
    workflow = load(".github/workflows/rollback.yml")
    call = triggers(workflow)["workflow_call"]
    used = set(re.findall(r"inputs\.([\w-]+)", yaml.safe_dump(workflow["jobs"])))
    assert used == set(call["inputs"])
    (job,) = workflow["jobs"].values()
    assert workflow["permissions"] == {} and job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["environment"]["name"] == "${{ inputs.environment }}" and call["inputs"]["environment"]["default"] == "production"
    # The production deploy's concurrency group for the endpoint, so a rollback never runs beside a deploy.
    deploy_group = load(".github/workflows/deploy.yml")["jobs"]["production"]["concurrency"]["group"]
    prefix = "smops-endpoint-${{ inputs.region }}-${{ inputs."
    assert job["concurrency"]["group"].startswith(prefix + "endpoint-name }}-") and deploy_group.startswith(prefix)
    assert job["concurrency"]["group"].endswith("|| 'aws' }}") and deploy_group.endswith("|| 'aws' }}")
    assert job["concurrency"]["cancel-in-progress"] is False
    step = next(s for s in job["steps"] if s.get("id") == "rollback")
    assert step["uses"] == "./.smops-toolkit" and step["with"]["command"] == "rollback"
    root = load("action.yml")
    assert set(step["with"]) <= set(root["inputs"])
    for name, meta in call["outputs"].items():
        assert meta["value"] == f"${{{{ jobs.rollback.outputs.{name} }}}}"
        assert job["outputs"][name] == f"${{{{ steps.rollback.outputs.{name} }}}}" and name in root["outputs"]


def test_rollback_starter_runs_by_hand_behind_production_reviewers():
    starter = load("workflows/rollback.yml")
    assert set(triggers(starter)) == {"workflow_dispatch"}
    (job,) = starter["jobs"].values()
    target, _, ref = job["uses"].partition("@")
    assert target == "ORG/sagemaker-mlops/.github/workflows/rollback.yml" and job["with"]["toolkit-ref"] == ref
    assert job["with"]["environment"] == "production" and job["permissions"]["id-token"] == "write"
    reusable = triggers(load(".github/workflows/rollback.yml"))["workflow_call"]["inputs"]
    assert set(job["with"]) <= set(reusable)
    assert {n for n, m in reusable.items() if m.get("required")} <= set(job["with"])


@pytest.mark.parametrize("kind", ["inputs", "outputs", "secrets"])
def test_docs_have_the_rollback_workflow_tables(kind):
    assert f"<!-- {kind}:.github/workflows/rollback.yml -->" in (ROOT / "docs" / "github-actions.md").read_text()
