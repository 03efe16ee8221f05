"""The SageMaker Pipeline that `smops build` runs: train a model and register it for approval.

Written by `smops init` as a starting point (SageMaker Python SDK v3). `smops build` calls
`get_pipeline(...)` with the values of its flags (the build starter's inputs), renders the pipeline
offline with `pipeline.definition()` and upserts it with boto3. Replace the training with your
own; keep the signature and a step that registers the model in `model_package_group_name`, as
PendingManualApproval: approving it is what starts the deployment.

A fuller example (preprocessing, evaluation, a quality gate) is examples/pipeline.py in the
sagemaker-mlops repository.
"""

from __future__ import annotations

import os

import boto3
from sagemaker.core import image_uris
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.core.workflow.parameters import ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

XGBOOST_VERSION = "1.7-1"  # SageMaker's built-in XGBoost: no training script to write


def get_pipeline(
    region,
    role=None,
    default_bucket=None,
    pipeline_name="{{pipeline_name}}",
    model_package_group_name="{{model_package_group}}",
    base_job_prefix="{{pipeline_name}}",
    sagemaker_project_name=None,
):
    """Return the pipeline; its jobs run as `role` and keep their files in `default_bucket`."""
    if not role or not default_bucket:
        raise ValueError("get_pipeline needs role and default_bucket (smops: --role-arn, --default-bucket)")
    # SageMaker checks the role when a job starts; rendering needs no IAM access.
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    session = PipelineSession(boto_session=boto3.Session(region_name=region), default_bucket=default_bucket)
    prefix = f"s3://{default_bucket}/{base_job_prefix}"

    # Change for one execution with `smops build --parameter NAME=VALUE`.
    training_instance_type = ParameterString("TrainingInstanceType", "ml.m5.xlarge")
    training_data = ParameterString("TrainingDataUrl", f"{prefix}/data/train.csv")  # TODO: your data
    approval_status = ParameterString("ModelApprovalStatus", "PendingManualApproval")

    image = image_uris.retrieve("xgboost", region, version=XGBOOST_VERSION)
    trainer = ModelTrainer(
        training_image=image,
        compute=Compute(instance_type=training_instance_type, instance_count=1),
        output_data_config=OutputDataConfig(s3_output_path=f"{prefix}/models"),
        base_job_name=f"{base_job_prefix}-train",
        hyperparameters={"objective": "reg:squarederror", "num_round": 50},  # TODO: your model
        input_data_config=[InputData(channel_name="train", data_source=training_data, content_type="text/csv")],
        sagemaker_session=session,
        role=role,
    )
    step_train = TrainingStep(name="Train", step_args=trainer.train())

    model = ModelBuilder(
        image_uri=image,
        s3_model_data_url=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        sagemaker_session=session,
        role_arn=role,
        dependencies={},  # the default looks the bucket up in S3, which rendering must not need
    )
    step_register = ModelStep(
        name="Register",
        step_args=model.register(
            model_package_group_name=model_package_group_name,
            approval_status=approval_status,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
        ),
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[training_instance_type, training_data, approval_status],
        steps=[step_train, step_register],
        sagemaker_session=session,
    )
