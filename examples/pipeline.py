"""An example SageMaker Pipeline: preprocess, train, evaluate, and register a model for approval.

It predicts the age of abalone (a regression on the UCI abalone data set) with SageMaker's
built-in XGBoost. Written with the SageMaker Python SDK v3, in the shape of the AWS MLOps project
templates: `smops build --pipeline examples/pipeline.py` calls `get_pipeline(...)` with the values
of its flags, renders the pipeline with `pipeline.definition()`, and upserts the JSON with boto3.

Rendering makes no AWS call, so it works without credentials. That takes:
- an explicit `default_bucket` (else the SDK asks STS for the account id to name one), and
  `dependencies={}` on the ModelBuilder (else it asks S3 whether the bucket exists, and creates it);
- the scripts referenced by S3 URI (a local `code=` path makes the SDK upload the file);
- IAM role validation left to SageMaker (see `SAGEMAKER_VALIDATE_ROLE` below).
The SDK needs a region as soon as it is imported: set AWS_DEFAULT_REGION. Its usage telemetry
still calls home unless switched off in its config file (see README.md).

To run it for real, upload `code/preprocess.py` and `code/evaluate.py` to
`s3://<default_bucket>/<base_job_prefix>/code/`, and the abalone CSV to the `InputDataUrl`.
"""

from __future__ import annotations

import os

import boto3
from sagemaker.core import image_uris
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

XGBOOST_VERSION = "1.7-1"  # one image trains, evaluates and serves the model
SKLEARN_VERSION = "1.2-1"  # the image that runs the preprocessing script


def get_pipeline(
    region,
    role=None,
    default_bucket=None,
    pipeline_name="AbalonePipeline",
    model_package_group_name="AbaloneModelPackageGroup",
    base_job_prefix="abalone",
    sagemaker_project_name=None,
):
    """Return the pipeline; its jobs run as `role` and keep their files in `default_bucket`."""
    if not role or not default_bucket:
        raise ValueError(
            "get_pipeline needs role and default_bucket (smops: --role-arn, --default-bucket)"
        )
    # The SDK would check the role's permissions through IAM while building the training step.
    # SageMaker checks them anyway when a job starts; rendering should not need IAM access.
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    session = PipelineSession(
        boto_session=boto3.Session(region_name=region), default_bucket=default_bucket
    )
    prefix = f"s3://{default_bucket}/{base_job_prefix}"

    # Parameters can be changed for one execution: `smops build --parameter NAME=VALUE`.
    processing_instance_type = ParameterString("ProcessingInstanceType", "ml.m5.xlarge")
    processing_instance_count = ParameterInteger("ProcessingInstanceCount", 1)
    training_instance_type = ParameterString("TrainingInstanceType", "ml.m5.xlarge")
    training_instance_count = ParameterInteger("TrainingInstanceCount", 1)
    input_data = ParameterString("InputDataUrl", f"{prefix}/data/abalone.csv")
    minimum_r2 = ParameterFloat("MinimumR2", 0.4)
    model_approval_status = ParameterString("ModelApprovalStatus", "PendingManualApproval")
    # Why this run retrains, e.g. drift:_c0,_c1 (the monitor starter and the approval bridge's
    # model_drift pass it); the reviewer sees it on the model package, where smops build also
    # records it (smops:retrain-reason) with the run that decided it. smops build profiles the
    # training job's `train` channel into the package's data baseline for smops drift.
    retrain_reason = ParameterString("RetrainReason", "none")

    # 1. Preprocess: one-hot encode, then split into train, validation and test CSV files.
    preprocessor = ScriptProcessor(
        image_uri=image_uris.retrieve("sklearn", region, version=SKLEARN_VERSION),
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=processing_instance_count,
        base_job_name=f"{base_job_prefix}-preprocess",
        sagemaker_session=session,
        role=role,
    )
    step_preprocess = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=preprocessor.run(
            code=f"{prefix}/code/preprocess.py",
            inputs=[_input("raw", input_data, "/opt/ml/processing/raw")],
            outputs=[_output(name, prefix) for name in ("train", "validation", "test")],
        ),
    )
    datasets = step_preprocess.properties.ProcessingOutputConfig.Outputs

    # 2. Train the built-in XGBoost algorithm: no training script needed.
    xgboost_image = image_uris.retrieve("xgboost", region, version=XGBOOST_VERSION)
    trainer = ModelTrainer(
        training_image=xgboost_image,
        compute=Compute(
            instance_type=training_instance_type, instance_count=training_instance_count
        ),
        output_data_config=OutputDataConfig(s3_output_path=f"{prefix}/models"),
        base_job_name=f"{base_job_prefix}-train",
        hyperparameters={
            "objective": "reg:squarederror",
            "num_round": 50,
            "max_depth": 5,
            "eta": 0.2,
            "subsample": 0.7,
        },
        input_data_config=[
            InputData(
                channel_name=channel,
                data_source=datasets[channel].S3Output.S3Uri,
                content_type="text/csv",
            )
            for channel in ("train", "validation")
        ],
        sagemaker_session=session,
        role=role,
    )
    step_train = TrainingStep(name="TrainAbaloneModel", step_args=trainer.train())
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts

    # 3. Evaluate on the test set. evaluation.json is a PropertyFile so the condition can read it.
    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluator = ScriptProcessor(
        image_uri=xgboost_image,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=1,
        base_job_name=f"{base_job_prefix}-evaluate",
        sagemaker_session=session,
        role=role,
    )
    step_evaluate = ProcessingStep(
        name="EvaluateAbaloneModel",
        step_args=evaluator.run(
            code=f"{prefix}/code/evaluate.py",
            inputs=[
                _input("model", model_data, "/opt/ml/processing/model"),
                _input("test", datasets["test"].S3Output.S3Uri, "/opt/ml/processing/test"),
            ],
            outputs=[_output("evaluation", prefix)],
        ),
        property_files=[evaluation_report],
    )

    # 4. Register the model for a reviewer to approve, with the evaluation as its quality report.
    evaluation_json = Join(
        on="/",
        values=[
            step_evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json",
        ],
    )
    model = ModelBuilder(
        image_uri=xgboost_image,
        s3_model_data_url=model_data,
        sagemaker_session=session,
        role_arn=role,
        # The default, {"auto": True}, makes register() look up the default bucket in S3
        # (creating it if missing), to package code that a built-in algorithm does not have.
        dependencies={},
    )
    step_register = ModelStep(
        name="RegisterAbaloneModel",
        step_args=model.register(
            model_package_group_name=model_package_group_name,
            approval_status=model_approval_status,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json", s3_uri=evaluation_json
                )
            ),
            customer_metadata_properties={
                "retrain-reason": retrain_reason,
                **({"sagemaker-project-name": sagemaker_project_name} if sagemaker_project_name else {}),
            },
        ),
    )

    # 5. Register only a model that explains enough of the variance; otherwise fail the run.
    step_fail = FailStep(
        name="AbaloneR2TooLow",
        error_message=Join(on=" ", values=["R2 on the test set is below MinimumR2 =", minimum_r2]),
    )
    step_check = ConditionStep(
        name="CheckAbaloneR2",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(
                    step_name=step_evaluate.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.r2.value",
                ),
                right=minimum_r2,
            )
        ],
        if_steps=[step_register],
        else_steps=[step_fail],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[
            processing_instance_type,
            processing_instance_count,
            training_instance_type,
            training_instance_count,
            input_data,
            minimum_r2,
            model_approval_status,
            retrain_reason,
        ],
        steps=[step_preprocess, step_train, step_evaluate, step_check],
        sagemaker_session=session,
    )


def _input(name, s3_uri, local_path):
    """A processing input copied from S3 into the container before the script starts."""
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=s3_uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
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
