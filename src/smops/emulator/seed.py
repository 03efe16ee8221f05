"""Approved model packages put in the emulator at start, so a rehearsal of deploy has one to deploy.

A rehearsal job starts a fresh emulator, but the package it deploys was registered in real AWS
(or, in the production job of a rehearsal, in the staging job's emulator). `smops emulator
--model-package` registers a stand-in: Approved, with a placeholder container, answering to the
ARN the workflow was given (account, region, group and version as written) or, given a group
name, as the newest version of that group.
"""

from __future__ import annotations

import re

from smops.errors import BadInput

PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[A-Za-z0-9][A-Za-z0-9-]{0,62})/(?P<version>\d+)$"
)
GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")


def model_package(spec: str, region: str, account: str) -> str:
    """Register an Approved package for SPEC (a versioned package ARN or a group name); its ARN."""
    from moto.sagemaker.models import sagemaker_backends

    from smops.emulator import _lock

    match = PACKAGE_ARN.match(spec)
    if match:
        region, group = match["region"], match["group"]
    elif GROUP_NAME.match(spec):
        group = spec
    else:
        raise BadInput(
            f"--model-package {spec!r} is neither a model package version ARN nor a group name",
            "give arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION or GROUP",
        )
    backend = sagemaker_backends[account][region]
    with _lock:
        if group not in backend.model_package_groups:
            backend.create_model_package_group(group, "registered by smops emulator", None)
        arn = backend.create_model_package(
            model_package_name=None,
            model_package_group_name=group,
            model_package_description="stand-in registered by smops emulator for a rehearsal",
            inference_specification={
                "Containers": [
                    {
                        "Image": f"{account}.dkr.ecr.{region}.amazonaws.com/smops-rehearsal:latest",
                        "ModelDataUrl": f"s3://smops-rehearsal-{account}/{group}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv", "application/json"],
                "SupportedResponseMIMETypes": ["text/csv", "application/json"],
            },
            validation_specification=None,
            source_algorithm_specification=None,
            certify_for_marketplace=False,
            tags=None,
            model_approval_status="Approved",
            metadata_properties=None,
            model_metrics=None,
            client_token=None,
            customer_metadata_properties=None,
            drift_check_baselines=None,
            domain=None,
            task=None,
            sample_payload_url=None,
            additional_inference_specifications=None,
        )
        if match and arn != spec:
            _answer_to(backend, arn, spec, int(match["version"]))
            arn = spec
    return arn


def _answer_to(backend, arn: str, wanted: str, version: int) -> None:
    """Make the package known by the ARN the workflow holds instead of the one moto minted."""
    package = backend.model_packages.pop(arn)
    package.arn = wanted
    package.model_package_version = version
    backend.model_packages[wanted] = package
    for name, target in list(backend.model_package_name_mapping.items()):
        if target == arn:
            backend.model_package_name_mapping[name] = wanted
    backend.model_package_name_mapping.pop(arn, None)
    backend.model_package_name_mapping[wanted] = wanted
