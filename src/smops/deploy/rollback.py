"""`smops rollback`: an endpoint back to a config it served before, through deploy's guarded update.

The target comes from the history smops keeps in the endpoint's tags (`smops.deploy.history`): the config
served before the current one, the newest that served a model package version, or one named.
The plan (`smops.deploy.plan.for_rollback`) refuses, before any change, a target whose config or model
no longer exists; the update itself is `smops.deploy.deploy.update`, the path every deploy takes.
"""

from __future__ import annotations

from smops import gha
from smops.deploy import deploy
from smops.deploy import plan as planning


def run(args) -> dict[str, str]:
    return deploy.execute(args, planning.for_rollback, _roll_back)


def _roll_back(args, plan, sm, cw, aas, started: float, deadline: float) -> dict[str, str]:
    outputs = {
        "endpoint-name": args.endpoint_name,
        "endpoint-config-name": plan.config_name,
        "model-name": plan.new.model,
        "model-package-arn": plan.new.package_arn or "",
        "rolled-back-from": plan.current["EndpointConfigName"],
    }
    if plan.action == "unchanged":
        gha.log(f"{args.endpoint_name} already serves {plan.config_name}: nothing to roll back")
        outputs.update({"endpoint-arn": plan.current["EndpointArn"], "action": "unchanged"})
        return outputs
    gha.log(f"rolling {args.endpoint_name} back from {plan.current['EndpointConfigName']} to {plan.config_name}")
    tags = deploy.provenance(args, plan.new.package_arn)
    return deploy.update(args, plan, sm, cw, aas, outputs, started, deadline, tags)
