"""The SageMaker Pipeline that `smops build` runs: process, train, evaluate, register for approval.

Written by `smops init` as a starting point (SageMaker Python SDK v3). `smops build` calls
`get_pipeline(...)` with the values of its flags (the build starter's inputs), renders the pipeline
offline with `pipeline.definition()` and upserts it with boto3. Replace the data and the model with
your own; keep the signature, and a step that registers the model in `model_package_group_name`
as PendingManualApproval: approving it is what starts the deployment.

What the build starter relies on:
- the package's ModelMetrics hold the evaluation report (code/evaluate.py writes
  regression_metrics.mse and .r2): the starter's gates read them;
- the `RetrainReason` parameter: a retraining build (drift) passes its reason there, and
  `smops build` records it on the package (smops:retrain-reason) for the reviewer;
- the training job's `train` channel: `smops build` profiles it into the package's data baseline,
  which `smops drift` compares production's traffic with (label first, as XGBoost trains on it).

Before the first real build, upload the two scripts and your data where the pipeline reads them:
  aws s3 cp code/ s3://<default bucket>/{{pipeline_name}}/code/ --recursive
  aws s3 cp data.csv s3://<default bucket>/{{pipeline_name}}/data/data.csv  (label first, no header)
A fuller example (feature engineering, a condition step) is examples/pipeline.py in the
sagemaker-mlops repository.
"""

from __future__ import annotations

import os

import boto3
from sagemaker.core import image_uris
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

XGBOOST_VERSION = "1.7-1"  # SageMaker's built-in XGBoost: trains, evaluates and serves the model
SKLEARN_VERSION = "1.2-1"  # the image that runs code/preprocess.py


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
    instance_type = ParameterString("InstanceType", "ml.m5.xlarge")
    input_data = ParameterString("InputDataUrl", f"{prefix}/data")  # TODO: your data, label first
    approval_status = ParameterString("ModelApprovalStatus", "PendingManualApproval")
    retrain_reason = ParameterString("RetrainReason", "none")  # e.g. drift:tenure; set by the starters

    # 1. Process: split the data into train and test (code/preprocess.py).
    preprocessor = ScriptProcessor(
        image_uri=image_uris.retrieve("sklearn", region, version=SKLEARN_VERSION),
        command=["python3"],
        instance_type=instance_type,
        instance_count=1,
        base_job_name=f"{base_job_prefix}-preprocess",
        sagemaker_session=session,
        role=role,
    )
    step_preprocess = ProcessingStep(
        name="Preprocess",
        step_args=preprocessor.run(
            code=f"{prefix}/code/preprocess.py",
            inputs=[_input("input", input_data)],
            outputs=[_output(name, prefix) for name in ("train", "test")],
        ),
    )
    datasets = step_preprocess.properties.ProcessingOutputConfig.Outputs

    # 2. Train SageMaker's built-in XGBoost on the train split.
    image = image_uris.retrieve("xgboost", region, version=XGBOOST_VERSION)
    trainer = ModelTrainer(
        training_image=image,
        compute=Compute(instance_type=instance_type, instance_count=1),
        output_data_config=OutputDataConfig(s3_output_path=f"{prefix}/models"),
        base_job_name=f"{base_job_prefix}-train",
        hyperparameters={"objective": "reg:squarederror", "num_round": 50},  # TODO: your model
        input_data_config=[
            InputData(channel_name="train", data_source=datasets["train"].S3Output.S3Uri, content_type="text/csv")
        ],
        sagemaker_session=session,
        role=role,
    )
    step_train = TrainingStep(name="Train", step_args=trainer.train())
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts

    # 3. Evaluate on the test split: evaluation.json, the model quality report the gates read.
    step_evaluate = ProcessingStep(
        name="Evaluate",
        step_args=ScriptProcessor(
            image_uri=image,
            command=["python3"],
            instance_type=instance_type,
            instance_count=1,
            base_job_name=f"{base_job_prefix}-evaluate",
            sagemaker_session=session,
            role=role,
        ).run(
            code=f"{prefix}/code/evaluate.py",
            inputs=[_input("model", model_data), _input("test", datasets["test"].S3Output.S3Uri)],
            outputs=[_output("evaluation", prefix)],
        ),
        property_files=[PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")],
    )
    evaluation = step_evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri

    # 4. Register for a reviewer to approve, with the evaluation as its model quality statistics.
    model = ModelBuilder(
        image_uri=image,
        s3_model_data_url=model_data,
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
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json", s3_uri=Join(on="/", values=[evaluation, "evaluation.json"])
                )
            ),
            customer_metadata_properties={"retrain-reason": retrain_reason},
        ),
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[instance_type, input_data, approval_status, retrain_reason],
        steps=[step_preprocess, step_train, step_evaluate, step_register],
        sagemaker_session=session,
    )


def _input(name, s3_uri):
    """A processing input copied from S3 to /opt/ml/processing/<name> before the script starts."""
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=s3_uri, local_path=f"/opt/ml/processing/{name}", s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )


def _output(name, prefix):
    """A processing output uploaded from /opt/ml/processing/<name> to a per-execution S3 prefix."""
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=Join(on="/", values=[prefix, ExecutionVariables.PIPELINE_EXECUTION_ID, name]),
            local_path=f"/opt/ml/processing/{name}",
            s3_upload_mode="EndOfJob",
        ),
    )
