"""The shipped IAM policies, enforced: the whole lifecycle runs as the roles of infra/'s templates.

One lifecycle (tests/iam_lifecycle.py) runs once for the module: two releases built, approved,
bridged, deployed to staging and production, smoke-tested and cleaned up, every phase a `smops`
process with the credentials of the role its job assumes, under the emulator's IAM enforcement.
"""

from __future__ import annotations

import pytest
from iam_lifecycle import BUILD, FUNCTION, PRODUCTION, PRODUCTION_ROLE, STAGING, STAGING_ROLE, Lifecycle

from smops.emulator import iam
from smops.emulator.github import GitHubStandIn


@pytest.fixture(scope="module")
def lifecycle(emulator, tmp_path_factory):
    emulator.reset()
    with GitHubStandIn() as github:
        run = Lifecycle(emulator, github, tmp_path_factory.mktemp("iam-lifecycle"))
        start = len(iam.decisions)
        try:
            run.set_up()
            run.run()
            run.made = run.decisions(start)  # what each role did in the lifecycle, before the tests below
            yield run
        finally:
            run.close()
            emulator.reset()


def test_nothing_smops_does_is_denied(lifecycle):
    assert sorted(lifecycle.made) == sorted([BUILD, STAGING_ROLE, PRODUCTION_ROLE, FUNCTION])
    denied = [d for decisions in lifecycle.made.values() for d in decisions if not d.allowed]
    assert denied == []
    # And it did the job: production serves the second release, through a canary guarded by alarms.
    sagemaker = lifecycle.client("sagemaker")
    production = sagemaker.describe_endpoint(EndpointName=PRODUCTION)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=production["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == lifecycle.packages[1]
    assert production["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    assert sagemaker.describe_endpoint(EndpointName=STAGING)["EndpointStatus"] == "InService"
    assert [d.body["client_payload"]["model-package-arn"] for d in lifecycle.github.dispatches()] == lifecycle.packages
