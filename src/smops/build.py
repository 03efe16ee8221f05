"""`smops build`: render the pipeline, upsert it, run it, wait for it, report it."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time

import botocore.exceptions

from smops import aws, gha, pipeline, registry
from smops.errors import BadInput, RemoteFailure, TimedOut
from smops.waiting import duration

STATUS_ICONS = {"Succeeded": "✅", "Failed": "❌", "Stopped": "⏹️", "Executing": "⏳"}


def run(args) -> dict[str, str]:
    pipeline.check_names(args.pipeline_name, args.role_arn)
    region = aws.region_of(args.region, args.profile)
    # SageMaker SDK v3 reads the region at import time, checks roles through IAM unless told not
    # to (smops upserts with boto3, so that check buys nothing), and sets the root logger to INFO
    # on import unless logging is configured already.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)  # the SDK raises its own loggers to INFO and DEBUG
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    available = {kw: getattr(args, attr) for kw, attr in pipeline.PIPELINE_KWARGS.items()}
    available["region"] = region
    with gha.group(f"Render {args.pipeline}"):
        definition = pipeline.load(args.pipeline, available, cache=args.render_cache)
        parameters = pipeline.parameter_values(definition, args.parameter)
        gha.log(
            f"{len(definition['Steps'])} top-level steps, "
            f"{len(definition.get('Parameters') or [])} parameters"
            + (f"; overriding {', '.join(p['Name'] for p in parameters)}" if parameters else "")
        )
    types = pipeline.step_types(definition)
    sm = aws.client("sagemaker", args.region, args.profile)
    if args.dry_run:
        return _dry_run(sm, args, definition)

    tags = [{"Key": k, "Value": v} for k, v in args.tag] + aws.provenance_tags()
    arn, action = pipeline.upsert(sm, args.pipeline_name, definition, args.role_arn, args.description, tags)
    gha.log(f"pipeline {args.pipeline_name}: {action} ({arn})")
    execution_arn = pipeline.start(sm, args.pipeline_name, parameters)
    outputs = {
        "pipeline-arn": arn,
        "execution-arn": execution_arn,
        "execution-status": "Executing",
        "model-package-arn": "",
    }
    if not args.wait:
        gha.log(f"execution started: {execution_arn}")
        gha.add_summary(_summary(args.pipeline_name, action, outputs, [], types, None, None, None, region))
        return outputs

    started = time.monotonic()
    with _stop_on_cancel(sm, execution_arn, args.stop_on_cancel), gha.group(f"Wait for {args.pipeline_name}"):
        gha.log(f"execution started: {execution_arn}")  # once a cancellation would stop it
        try:
            execution, step_list = pipeline.wait(sm, execution_arn, args.timeout * 60, types)
        except TimedOut as exc:
            if args.stop_on_cancel:
                pipeline.stop(sm, execution_arn)
                exc.fix = "the execution was stopped (--stop-on-cancel); raise --timeout to give it longer"
            exc.outputs = outputs
            raise
    status = execution["PipelineExecutionStatus"]
    packages = pipeline.registered_packages(step_list)
    if len(packages) > 1:
        gha.warning(f"{len(packages)} model packages registered; reporting the last: {packages[-1]}")
    outputs.update({"execution-status": status, "model-package-arn": packages[-1] if packages else ""})
    if status == "Succeeded" and not packages and "RegisterModel" in types.values():
        gha.notice("the execution succeeded without registering a model package (its RegisterModel step did not run)")
    package = _package_for_summary(sm, packages[-1]) if packages else None
    s3 = aws.client("s3", args.region, args.profile)
    gha.add_summary(
        _summary(args.pipeline_name, action, outputs, step_list, types, package, time.monotonic() - started, s3, region)
    )
    if status != "Succeeded":
        raise _failure(execution, step_list, region, outputs)
    gha.log(
        f"execution Succeeded in {duration(time.monotonic() - started)}"
        + (f"; registered {registry.label(package)} ({package.get('ModelApprovalStatus')})" if package else "")
    )
    return outputs


def _package_for_summary(sm, arn: str) -> dict | None:
    """The registered package, described for the summary; a read that fails must not fail the build."""
    try:
        return registry.describe(sm, arn)
    except (BadInput, botocore.exceptions.ClientError) as exc:
        gha.warning(f"could not describe {arn} for the summary: {exc}")
        return None


def _dry_run(sm, args, definition: dict) -> dict[str, str]:
    deployed = pipeline.describe(sm, args.pipeline_name)
    changes = pipeline.diff(deployed, definition, args.role_arn, args.description)
    # The diff is the answer, unless --json reserves stdout for the outputs.
    print(changes or f"pipeline {args.pipeline_name} is up to date", file=sys.stderr if args.json else sys.stdout)
    verdict = "would be created" if deployed is None else ("would be updated" if changes else "is unchanged")
    gha.log(f"dry run: pipeline {args.pipeline_name} {verdict}; nothing was changed")
    gha.add_summary(
        f"### smops build (dry run): `{args.pipeline_name}` {verdict}\n\n"
        + (f"```diff\n{changes}\n```" if changes else "No changes.")
    )
    return {"pipeline-arn": deployed.arn if deployed else ""}


@contextlib.contextmanager
def _stop_on_cancel(sm, execution_arn: str, enabled: bool):
    """With --stop-on-cancel, SIGINT or SIGTERM (a cancelled workflow) stops the execution."""
    if not enabled:
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        gha.log(f"cancelled: stopping {execution_arn}")
        pipeline.stop(sm, execution_arn)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _failure(execution: dict, step_list: list[dict], region: str, outputs: dict) -> RemoteFailure:
    status = execution["PipelineExecutionStatus"]
    failed = [s for s in step_list if s["StepStatus"] in {"Failed", "Stopped"}]
    if not failed:
        return RemoteFailure(
            f"pipeline execution {status}: {execution.get('FailureReason') or 'no reason given'}",
            f"see `aws sagemaker list-pipeline-execution-steps --pipeline-execution-arn {outputs['execution-arn']}`",
            outputs=outputs,
        )
    first = failed[0]
    names = ", ".join(f"{s['StepName']} ({s['StepStatus']})" for s in failed)
    details = "\n".join(
        f"  {s['StepName']}: {s.get('FailureReason') or s['StepStatus']}\n    {pipeline.where_to_look(s, region)}"
        for s in failed
    )
    ran_jobs = any(s.get("Metadata", {}).keys() & pipeline.JOB_LOGS.keys() for s in failed)
    return RemoteFailure(
        f"pipeline execution {status}: step {names}: {first.get('FailureReason') or 'no reason given'}",
        "see the step's job logs below" if ran_jobs else "the reason above comes from the pipeline definition",
        details=details,
        outputs=outputs,
    )


def _summary(name, action, outputs, step_list, types, package, seconds, s3, region) -> str:
    status = outputs["execution-status"]
    lines = [
        f"### smops build: `{name}` {STATUS_ICONS.get(status, '')} {status}",
        "",
        gha.table(
            ["", ""],
            [
                ["Pipeline", f"`{name}` ({action})"],
                ["Execution", f"`{outputs['execution-arn']}`"],
                ["Duration", duration(seconds) if seconds is not None else "not waited for"],
            ],
        ),
    ]
    if step_list:
        rows = []
        for step in step_list:
            seconds_taken = pipeline.step_seconds(step)
            rows.append(
                [
                    step["StepName"],
                    types.get(step["StepName"], ""),
                    step["StepStatus"],
                    duration(seconds_taken) if seconds_taken is not None else "",
                    step.get("FailureReason", ""),
                ]
            )
        lines += ["", "#### Steps", "", gha.table(["step", "type", "status", "duration", "reason"], rows)]
        failed = [s for s in step_list if s["StepStatus"] == "Failed"]
        for step in failed:
            lines += ["", f"**{step['StepName']}**: {pipeline.where_to_look(step, region)}"]
    if package:
        lines += ["", registry.summary_lines(package, s3)]
    return "\n".join(lines)
