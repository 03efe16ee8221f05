"""`smops build`: render the pipeline, upsert it, run it, wait for it, report it."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import time

import botocore.exceptions

from smops import aws, endpoint, gha, metrics, pictures, pipeline, pr_comment, registry
from smops.errors import BadInput, RemoteFailure, TimedOut
from smops.waiting import PollingFailed, duration

# The pipeline parameter a retraining build is given its reason in (the build starter sets it).
RETRAIN_PARAMETER = "RetrainReason"
STATUS_ICONS = {"Succeeded": "✅", "Failed": "❌", "Stopped": "⏹️", "Executing": "⏳"}


def run(args) -> dict[str, str]:
    pipeline.check_names(args.pipeline_name, args.role_arn)
    aws.check_tags(args.tag)
    _check_quality_flags(args)
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
    graph = pipeline.step_graph(definition)  # once: the wait's step types, the summary, the comment
    types = pipeline.step_types(graph)
    sm = aws.client("sagemaker", args.region, args.profile)
    if args.dry_run:
        return _dry_run(sm, args, definition)

    tags = [{"Key": k, "Value": v} for k, v in args.tag] + aws.provenance_tags()
    arn, action, version = pipeline.upsert(sm, args.pipeline_name, definition, args.role_arn, args.description, tags)
    gha.log(f"pipeline {args.pipeline_name}: {action} ({arn})" + (f", version {version}" if version else ""))
    # The execution runs the version this build made; two builds of one pipeline never swap.
    execution_arn = pipeline.start(sm, args.pipeline_name, parameters, version)
    if version is None:  # unchanged: the newest version runs, which another build may have made since
        definition = pipeline.definition_run(sm, execution_arn, definition)
        graph = pipeline.step_graph(definition)
        types = pipeline.step_types(graph)
    action += f", version {version}" if version else ""
    outputs = {
        "pipeline-arn": arn,
        "execution-arn": execution_arn,
        "execution-status": "Executing",
        "model-package-arn": "",
    }
    if not args.wait:
        gha.log(f"execution started: {execution_arn}")
        gha.add_summary(_summary(args.pipeline_name, action, outputs, [], graph, None, None, None, region))
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
        except PollingFailed as exc:
            exc.fix = (
                "the execution goes on in SageMaker; follow it with `aws sagemaker "
                f"describe-pipeline-execution --pipeline-execution-arn {execution_arn}`"
            )
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
    if package:
        _tag_package(sm, package)
    recorded = _package_metadata(sm, s3, args, package, step_list, parameters) if package and status == "Succeeded" else None
    assessment = _quality(sm, s3, args, package, outputs) if package and status == "Succeeded" else None
    if args.gate and not package:
        gha.warning("no model package was registered: the gates were not checked")
    gha.add_summary(_summary(
        args.pipeline_name, action, outputs, step_list, graph, package, time.monotonic() - started, s3, region,
        assessment,
    ))
    if recorded:
        gha.add_summary(recorded.markdown())
    if args.pr_comment:
        comment = _comment(args.pipeline_name, outputs, step_list, graph, package, assessment)
        pr_comment.post(f"build:{args.pipeline_name}", comment)
    if status != "Succeeded":
        raise _failure(execution, step_list, region, outputs)
    if assessment and assessment.failed:
        raise _gate_failure(assessment, outputs)
    gha.log(
        f"execution Succeeded in {duration(time.monotonic() - started)}"
        + (f"; registered {registry.label(package)} ({package.get('ModelApprovalStatus')})" if package else "")
    )
    return outputs


def _check_quality_flags(args) -> None:
    """The gate's flags make sense together, before anything starts."""
    metrics.check_gates(args.gate)
    if args.approve_on_pass and not args.gate:
        raise BadInput(
            "--approve-on-pass without --gate would approve every model",
            "add a --gate, or register Approved packages through the pipeline's approval status parameter",
        )
    if (args.gate or args.approve_on_pass) and not args.wait:
        raise BadInput("--gate and --approve-on-pass need the execution's result", "drop --no-wait")
    if args.training_data and not re.match(r"^s3://[^/]+", args.training_data):
        raise BadInput(f"--training-data {args.training_data!r} is not an s3:// URI",
                       "pass the training data's S3 location, e.g. s3://my-bucket/churn/train/")
    if args.baseline_endpoint:
        endpoint.check_name(args.baseline_endpoint)


def _tag_package(sm, package: dict) -> None:
    """The registered package records which commit and run built it (for `smops status`)."""
    tags = aws.provenance_tags()
    if not tags:
        return
    try:
        sm.add_tags(ResourceArn=package["ModelPackageArn"], Tags=tags)
    except botocore.exceptions.ClientError as exc:
        gha.warning(f"could not tag {registry.label(package)} with the commit and run: {aws.error_message(exc)}")


def _package_metadata(sm, s3, args, package: dict, step_list: list[dict], parameters: list[dict]):
    """Record on the package why it was retrained (the RetrainReason it was built with, and this
    run) and where its data baseline is; return what was done about the baseline. Neither may
    fail a build that registered its package: a warning says what is missing."""
    from smops import data_baseline

    reason = next((p["Value"] for p in parameters if p["Name"] == RETRAIN_PARAMETER), "")
    reason = "" if reason.lower() == "none" else reason  # the skeleton's default: not a retraining
    metadata = {registry.RETRAIN_REASON_KEY: reason, registry.RETRAIN_RUN_KEY: gha.run_url() if reason else None}
    recorded = None
    try:
        recorded = data_baseline.attach(sm, s3, package, step_list, args)
    except (BadInput, botocore.exceptions.ClientError) as exc:
        gha.warning(f"no data baseline for {registry.label(package)}, so `smops drift` will ask for one: {exc}")
    if recorded:
        metadata.update(recorded.metadata)
    try:
        registry.add_metadata(sm, package, metadata)
    except botocore.exceptions.ClientError as exc:
        gha.warning(f"could not record {', '.join(k for k, v in metadata.items() if v)} on {registry.label(package)}: "
                    f"{aws.error_message(exc)}")
    return recorded


def _quality(sm, s3, args, package: dict, outputs: dict) -> metrics.Assessment | None:
    """Compare the package with its baseline, check the gates, and record their verdict."""
    with gha.group(f"Quality of {registry.label(package)}"):
        try:
            assessment = metrics.assess(sm, s3, package, args.gate, args.baseline_endpoint)
        except botocore.exceptions.ClientError as exc:
            if args.gate:
                raise RemoteFailure(
                    f"could not check the gates on {registry.label(package)}: {exc}",
                    "it keeps its approval status; grant the role what AWS refused (infra/github-oidc.yaml)",
                    outputs=outputs,
                ) from exc
            gha.warning(f"could not compare the metrics with a baseline: {exc}")
            return None
        gha.log(f"baseline: {assessment.baseline_note}")
        for change in assessment.changes():
            before = f"{metrics.number_text(change.baseline)} -> " if assessment.baseline else ""
            after = f" {change.verdict}" if assessment.baseline else ""
            gha.log(f"  {change.name}: {before}{metrics.number_text(change.candidate)}{after}")
        for verdict in assessment.verdicts:
            gha.log(f"  gate {verdict.gate.text}: {'passed' if verdict.passed else 'FAILED'}: {verdict.detail}")
        status = metrics.apply(sm, assessment, args.approve_on_pass)
        if status:
            package["ModelApprovalStatus"] = status
    return assessment


def _gate_failure(assessment: metrics.Assessment, outputs: dict) -> RemoteFailure:
    failed = assessment.failed
    more = f" (and {len(failed) - 1} more gate(s) failed)" if len(failed) > 1 else ""
    label = registry.label(assessment.package)
    return RemoteFailure(
        f"quality gate {failed[0].gate.text!r} failed for {label}: {failed[0].detail}{more}",
        f"{label} was set Rejected, the reason in its approval description; the job summary compares "
        "it with the baseline",
        details="\n".join(f"  {v.gate.text}: {v.detail}" for v in failed),
        outputs=outputs,
    )


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


def _headline(name: str, status: str, assessment: metrics.Assessment | None) -> str:
    gate = ", ❌ quality gate failed" if assessment and assessment.failed else ""
    return f"### smops build: `{name}` {STATUS_ICONS.get(status, '')} {status}{gate}"


def _quality_lines(assessment: metrics.Assessment) -> list[str]:
    lines = ["", "#### Model quality", "", metrics.markdown(assessment)]
    if os.environ.get("AWS_ENDPOINT_URL"):
        lines += ["", f"> These metrics come from `{os.environ['AWS_ENDPOINT_URL']}` (AWS_ENDPOINT_URL): in a "
                  "rehearsal on the smops emulator they are its stand-in report, not your model's."]
    return lines


def _comment(name, outputs, step_list, graph, package, assessment) -> str:
    """The pull request comment: the verdict and the metrics first, the step graph folded away
    unless the execution failed."""
    status = outputs["execution-status"]
    lines = [_headline(name, status, assessment)]
    if package:
        lines += ["", registry.headline(package)]
    if assessment:
        lines += _quality_lines(assessment)
    picture = pictures.build_graph(graph, step_list)
    lines += ["", picture] if status != "Succeeded" else ["", "<details><summary>Pipeline steps</summary>", "", picture,
                                                         "", "</details>"]
    url = gha.run_url()
    if url:
        lines += ["", f"[Workflow run]({url}) · execution `{outputs['execution-arn']}`"]
    return "\n".join(lines)


def _summary(name, action, outputs, step_list, graph, package, seconds, s3, region, assessment=None) -> str:
    status = outputs["execution-status"]
    types = pipeline.step_types(graph)
    lines = [
        _headline(name, status, assessment),
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
        lines += ["", pictures.build_graph(graph, step_list)]
    if package:
        lines += ["", registry.summary_lines(package, s3) if assessment is None else registry.headline(package)]
    if assessment:
        lines += _quality_lines(assessment)
    return "\n".join(lines)

