"""The emulator's model registry behaves as SageMaker does where moto 5.2.5 does not."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

GROUP = "churn"


@pytest.fixture
def package_arn(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    sagemaker.create_model_package(ModelPackageGroupName=GROUP)  # version 1, left alone
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"team": "ml", "stage": "candidate"},
    )["ModelPackageArn"]


def tags(sagemaker, arn):
    return {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def test_tags_on_a_versioned_model_package(sagemaker, package_arn):
    assert package_arn.endswith(f"model-package/{GROUP}/2")
    assert tags(sagemaker, package_arn) == {}

    sagemaker.add_tags(ResourceArn=package_arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sagemaker.add_tags(ResourceArn=package_arn, Tags=[{"Key": "a", "Value": "3"}])
    assert tags(sagemaker, package_arn) == {"a": "3", "b": "2"}

    sagemaker.delete_tags(ResourceArn=package_arn, TagKeys=["b"])
    assert tags(sagemaker, package_arn) == {"a": "3"}
    first = package_arn.rsplit("/", 1)[0] + "/1"
    assert tags(sagemaker, first) == {}


def test_tags_on_a_group_and_an_unknown_package(sagemaker, package_arn):
    group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=GROUP)["ModelPackageGroupArn"]
    sagemaker.add_tags(ResourceArn=group_arn, Tags=[{"Key": "smops:github-repository", "Value": "o/r"}])
    assert tags(sagemaker, group_arn) == {"smops:github-repository": "o/r"}
    with pytest.raises(ClientError, match="does not exist"):
        sagemaker.list_tags(ResourceArn=package_arn.rsplit("/", 1)[0] + "/9")


def test_tagging_does_not_modify_the_package(sagemaker, package_arn):
    sagemaker.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")
    before = sagemaker.describe_model_package(ModelPackageName=package_arn)["LastModifiedTime"]
    sagemaker.add_tags(ResourceArn=package_arn, Tags=[{"Key": "a", "Value": "1"}])
    assert sagemaker.describe_model_package(ModelPackageName=package_arn)["LastModifiedTime"] == before


def test_update_changes_only_what_it_is_given(sagemaker, package_arn):
    sagemaker.update_model_package(
        ModelPackageArn=package_arn, ModelApprovalStatus="Approved", ApprovalDescription="looks good"
    )
    sagemaker.update_model_package(ModelPackageArn=package_arn, CustomerMetadataProperties={"stage": "prod"})
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ApprovalDescription"] == "looks good"
    assert package["CustomerMetadataProperties"] == {"team": "ml", "stage": "prod"}

    sagemaker.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Rejected")
    sagemaker.update_model_package(ModelPackageArn=package_arn, CustomerMetadataPropertiesToRemove=["team"])
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ApprovalDescription"] == "looks good"
    assert package["CustomerMetadataProperties"] == {"stage": "prod"}


def test_update_moves_last_modified_time(sagemaker, package_arn):
    sagemaker.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")
    first = sagemaker.describe_model_package(ModelPackageName=package_arn)["LastModifiedTime"]
    sagemaker.update_model_package(ModelPackageArn=package_arn, ApprovalDescription="again")
    assert sagemaker.describe_model_package(ModelPackageName=package_arn)["LastModifiedTime"] > first
