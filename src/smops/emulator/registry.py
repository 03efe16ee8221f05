"""Model registry behaviour that moto 5.2.5 gets wrong, corrected to what SageMaker does.

- AddTags, ListTags and DeleteTags fail on a versioned model package ARN
  (`model-package/<group>/<version>`): moto expects one name after the resource type and does not
  know model packages at all. SageMaker tags model packages like any other resource.
- AddTags appends a second tag with the same key; SageMaker overwrites the value.
- UpdateModelPackage resets what the request leaves out (ModelApprovalStatus becomes None,
  ApprovalDescription, CustomerMetadataProperties and the additional inference specifications are
  wiped). SageMaker changes only the fields given, merges CustomerMetadataProperties key by key and
  drops the keys in CustomerMetadataPropertiesToRemove.
- DeleteModelPackage and DeleteModelPackageGroup are missing (smops teardown --delete-registry
  deletes each version, then the group).

Creating a package and changing its approval status send the EventBridge event SageMaker sends.
CreatedBy and LastModifiedBy name the caller's IAM identity (moto names a made-up Studio user), as
SageMaker records it for model packages: the audit trail `smops status` reads.
"""

from __future__ import annotations

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError

from smops.emulator import events


def _model_package(backend, arn: str):
    package = backend.model_packages.get(backend.model_package_name_mapping.get(arn, arn))
    if package is None:
        raise ValidationError(f"Model package {arn} does not exist.")
    return package


def _tagged_resource(backend, arn: str):
    """The resource a tagging call names: model packages here, the rest through moto."""
    resource_type = arn.split(":", 5)[-1].split("/", 1)[0]
    if resource_type == "model-package":
        return _model_package(backend, arn)
    resource = backend._get_resource_from_arn(arn)
    if resource is None:
        raise ValidationError(f"Resource {arn} does not exist.")
    return resource


def user_context(arn: str, principal_id: str) -> dict:
    """SageMaker's UserContext for an IAM identity (model packages record IamIdentity)."""
    return {"IamIdentity": {"Arn": arn, "PrincipalId": principal_id}}


def _caller(response) -> dict:
    from moto.sts.models import sts_backends

    principal_id, arn, _ = sts_backends[response.current_account]["aws"].get_caller_identity(
        response.get_access_key(), response.region
    )
    return user_context(arn, principal_id)


def patch(response_class) -> None:
    def add_tags(self):
        resource = _tagged_resource(self.sagemaker_backend, self._get_param("ResourceArn"))
        given = {tag["Key"]: tag["Value"] for tag in self._get_param("Tags") or []}
        kept = [tag for tag in resource.tags or [] if tag["Key"] not in given]
        resource.tags = kept + [{"Key": key, "Value": value} for key, value in given.items()]
        return ActionResult({"Tags": resource.tags})

    def list_tags(self):
        # One page always: a resource holds at most 50 tags and MaxResults is at least 50.
        resource = _tagged_resource(self.sagemaker_backend, self._get_param("ResourceArn"))
        return ActionResult({"Tags": list(resource.tags or [])})

    def delete_tags(self):
        resource = _tagged_resource(self.sagemaker_backend, self._get_param("ResourceArn"))
        removed = set(self._get_param("TagKeys") or [])
        resource.tags = [tag for tag in resource.tags or [] if tag["Key"] not in removed]
        return EmptyResult()

    original_create = response_class.create_model_package

    def create_model_package(self):
        result = original_create(self)
        package = _model_package(self.sagemaker_backend, result.result["ModelPackageArn"])
        package.created_by = _caller(self)
        events.model_package_state_change(self.sagemaker_backend, package)
        return result

    def update_model_package(self):
        package = _model_package(self.sagemaker_backend, self._get_param("ModelPackageArn"))
        status = self._get_param("ModelApprovalStatus")
        changed = status is not None and status != package.model_approval_status
        if status is not None:
            package.set_model_approval_status(status)
        description = self._get_param("ApprovalDescription")
        if description is not None:
            package.approval_description = description
        metadata = dict(package.customer_metadata_properties or {})
        metadata.update(self._get_param("CustomerMetadataProperties") or {})
        for key in self._get_param("CustomerMetadataPropertiesToRemove") or []:
            metadata.pop(key, None)
        package.customer_metadata_properties = metadata or None
        additional = self._get_param("AdditionalInferenceSpecificationsToAdd")
        if additional:
            package.add_additional_inference_specifications(additional)
        package.modifications_done()
        package.last_modified_by = _caller(self)
        if changed:
            events.model_package_state_change(self.sagemaker_backend, package)
        return ActionResult({"ModelPackageArn": package.arn})

    def delete_model_package(self):
        backend = self.sagemaker_backend
        package = _model_package(backend, self._get_param("ModelPackageName"))
        del backend.model_packages[package.arn]
        for name in [name for name, arn in backend.model_package_name_mapping.items() if arn == package.arn]:
            del backend.model_package_name_mapping[name]
        return EmptyResult()

    def delete_model_package_group(self):
        group = self.sagemaker_backend.describe_model_package_group(self._get_param("ModelPackageGroupName"))
        del self.sagemaker_backend.model_package_groups[group.model_package_group_name]
        return EmptyResult()

    for function in (add_tags, list_tags, delete_tags, create_model_package, update_model_package, delete_model_package,
                     delete_model_package_group):
        setattr(response_class, function.__name__, function)
