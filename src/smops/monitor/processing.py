"""SageMaker Processing as the engine of `smops drift` and `smops baseline` (`--engine processing`).

When one runner is not enough, the records are profiled by a Processing job in the user's
account: the data input is `ShardedByS3Key` (SageMaker gives each of `--instance-count` instances
about 1/n of the objects; API reference, ProcessingS3Input), each instance runs smops.monitor.shard on
its share and writes a partial profile, and the runner merges the partials (data_profile.Table.merge)
and judges them exactly as one process would. For drift the data input is a manifest of the
window's capture files (S3DataType ManifestFile), so only the window is downloaded.

The image is one AWS maintains, the SageMaker scikit-learn image (Python 3.10 and numpy, from
aws/sagemaker-scikit-learn-container); the job's code input holds the runner's own smops package
(so both sides run the release the workflow pinned) and the job's settings. DataSketches
and pyarrow are installed at the runner's versions when the image lacks them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile
from importlib import metadata
from pathlib import Path

from smops import aws, gha, waiting
from smops.errors import BadInput, RemoteFailure, TimedOut

TERMINAL = {"Completed", "Failed", "Stopped"}
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
ROOT = "/opt/ml"
# The SageMaker scikit-learn image 1.4-2 (Python 3.10, numpy 2.1): registries per region as the
# SageMaker Python SDK lists them (src/sagemaker/image_uri_config/sklearn.json).
IMAGE = "sagemaker-scikit-learn:1.4-2-cpu-py3"
IMAGE_REGISTRIES = {
    "af-south-1": "510948584623", "ap-east-1": "651117190479", "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698", "ap-northeast-3": "867004704886", "ap-south-1": "720646828776",
    "ap-south-2": "628508329040", "ap-southeast-1": "121021644041", "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941", "ap-southeast-4": "106583098589", "ca-central-1": "341280168497",
    "eu-central-1": "492215442770", "eu-central-2": "680994064768", "eu-north-1": "662702820516",
    "eu-south-1": "978288397137", "eu-south-2": "104374241257", "eu-west-1": "141502667606",
    "eu-west-2": "764974769150", "eu-west-3": "659782779980", "me-central-1": "272398656194",
    "me-south-1": "801668240914", "sa-east-1": "737474898029", "us-east-1": "683313688378",
    "us-east-2": "257758044811", "us-west-1": "746614075791", "us-west-2": "246618743249",
}
# What each instance runs: DataSketches and pyarrow (smops' reader) if the image lacks them, then
# smops from the code input.
SCRIPT = (
    'set -e; root="$1"; '
    'python3 -c "import numpy, datasketches, pyarrow" 2>/dev/null || python3 -m pip install --quiet '
    '--disable-pip-version-check "datasketches==$SMOPS_DATASKETCHES" "pyarrow==$SMOPS_PYARROW"; '
    'PYTHONPATH="$root/processing/input/code/smops.zip" exec python3 -m smops.monitor.shard "$root"'
)
RECORD_BYTES = 465  # a capture record of 10 numeric features, BASE64 CSV (bench/drift.py's)
# Records one instance profiles per second: one runner's rate at 10^7 records in bench/processing.py
# (2.2·10^5 a second, reading from the emulator's S3 on the same machine), rounded down; the
# emulator's instances, reading files already on their disk, did 3.9 to 4.2·10^5. `--engine auto`
# hands a window to Processing from the record count one runner takes about 8 minutes on at that
# rate: below it a runner is done before a job would have started its instances (provisioning and
# pulling the image take minutes, billed too). Over S3's own latency a runner reads slower, so the
# switch comes later than it would need to, never sooner.
INSTANCE_RECORDS_PER_SECOND = 200_000
AUTO_RECORDS = 100_000_000


def wanted(args, records: int) -> bool:
    """Whether this run goes to Processing: --engine processing, or auto above AUTO_RECORDS."""
    if getattr(args, "max_records", None):
        if args.engine == "processing":
            raise BadInput("--max-records samples what one runner reads", "drop it, or use --engine local")
        records = min(records, args.max_records)
    if args.engine == "local" or (args.engine == "auto" and records <= AUTO_RECORDS):
        return False
    if not args.processing_role_arn:
        if args.engine == "auto":
            gha.warning(f"about {records} records, more than --engine auto gives one runner ({AUTO_RECORDS}), "
                        "but no --processing-role-arn: profiling here")
            return False
        raise BadInput("--engine processing needs --processing-role-arn",
                       "pass the processing role (infra/github-oidc.yaml's ProcessingRoleArn output)")
    aws.check_role_arn(args.processing_role_arn, "the role the Processing job runs as")
    if args.instance_count < 1:
        raise BadInput(f"--instance-count {args.instance_count} is less than 1", "run at least one instance")
    return True


def estimate(args, records: int, objects: int) -> str:
    """What the job would use, before it runs: instance-hours at the bench's rate per instance."""
    shards = min(args.instance_count, max(objects, 1))
    hours = args.instance_count * records / shards / INSTANCE_RECORDS_PER_SECOND / 3600
    return (f"a Processing job on {args.instance_count} × {args.instance_type} over {objects} objects "
            f"(~{records} records): about {hours:.3f} instance-hours of profiling at "
            f"~{INSTANCE_RECORDS_PER_SECOND} records/s per instance, plus each instance's start-up and "
            f"download (billed too); see your region's SageMaker Processing price for {args.instance_type}")


def run(args, kind: str, label: str, data: dict, settings: dict, default_uri: str) -> list[dict]:
    """Run the job; return its instances' partial results. `data` is the data input's S3Input
    (S3Uri, S3DataType), `settings` what smops.monitor.shard reads from job.json."""
    region = aws.region_of(args.region, args.profile)
    if region not in IMAGE_REGISTRIES:
        raise BadInput(f"no SageMaker scikit-learn image listed for {region}", "use --engine local there")
    sm = aws.client("sagemaker", args.region, args.profile)
    s3 = aws.client("s3", args.region, args.profile)
    name = f"smops-{kind}-{dt.datetime.now(dt.timezone.utc):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    base = f"{(args.processing_uri or default_uri).rstrip('/')}/{name}"
    bucket, prefix = split(base)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/code/smops.zip", Body=_package())
    s3.put_object(Bucket=bucket, Key=f"{prefix}/code/job.json", Body=json.dumps({"kind": kind, **settings}).encode())
    if data.get("S3DataType") == "ManifestFile":
        s3.put_object(Bucket=bucket, Key=f"{prefix}/manifest.json", Body=json.dumps(data.pop("manifest")).encode())
        data["S3Uri"] = f"{base}/manifest.json"
    request = {
        "ProcessingJobName": name,
        "RoleArn": args.processing_role_arn,
        "AppSpecification": {
            "ImageUri": f"{IMAGE_REGISTRIES[region]}.dkr.ecr.{region}.amazonaws.com/{IMAGE}",
            "ContainerEntrypoint": ["bash", "-c", SCRIPT, "smops-shard"],
            "ContainerArguments": [ROOT],
        },
        "Environment": {"SMOPS_DATASKETCHES": metadata.version("datasketches"),
                        "SMOPS_PYARROW": metadata.version("pyarrow")},
        "ProcessingResources": {"ClusterConfig": {
            "InstanceCount": args.instance_count, "InstanceType": args.instance_type, "VolumeSizeInGB": 30}},
        "ProcessingInputs": [
            _input("code", f"{base}/code/", "S3Prefix", "FullyReplicated"),
            _input("data", data["S3Uri"], data["S3DataType"], "ShardedByS3Key"),
        ],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "partials", "S3Output": {
            "S3Uri": f"{base}/partials", "LocalPath": f"{ROOT}/processing/output", "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": int(args.timeout * 60)},
        "Tags": aws.provenance_tags(purpose=f"{kind} {label}"),
    }
    try:
        sm.create_processing_job(**request)
    except aws.ERRORS as exc:
        raise RemoteFailure(aws.describe_error(exc, f"processing job {name}"),
                            "check --processing-role-arn and that the caller may pass it (infra/README.md)") from None
    gha.log(f"started processing job {name}: {args.instance_count} × {args.instance_type}, "
            f"data {data['S3Uri']} (ShardedByS3Key), results {base}/partials")
    job = _wait(sm, name, args.timeout * 60, region, args.profile)
    hours = instance_hours(job)
    gha.log(f"processing job {name} completed: {hours:.3f} instance-hours")
    partials = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/partials/"):
        for item in page.get("Contents", []):
            partials.append(json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    if not partials:
        raise RemoteFailure(f"processing job {name} completed but wrote no partial results under {base}/partials",
                            f"see CloudWatch log group {LOG_GROUP}, streams {name}/*")
    for partial in partials:
        partial["instance_hours"] = hours
    return partials


def instance_hours(job: dict) -> float:
    start, end = job.get("ProcessingStartTime"), job.get("ProcessingEndTime")
    if not (start and end):
        return 0.0
    count = job["ProcessingResources"]["ClusterConfig"]["InstanceCount"]
    return count * max((end - start).total_seconds(), 0.0) / 3600


def _input(name: str, uri: str, data_type: str, distribution: str) -> dict:
    return {"InputName": name, "S3Input": {
        "S3Uri": uri, "LocalPath": f"{ROOT}/processing/input/{name}", "S3DataType": data_type,
        "S3InputMode": "File", "S3DataDistributionType": distribution}}


def split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:].strip("/"):
        raise BadInput(f"--processing-uri {uri!r} is not an s3://bucket/prefix", "pass s3://bucket/prefix")
    bucket, prefix = aws.split_s3_uri(uri)
    return bucket, prefix.strip("/")


def _package() -> bytes:
    """The running smops package's Python files, as a zip the job imports from (zipimport)."""
    root = Path(__file__).resolve().parents[1]  # the smops package, not this stage of it
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*.py")):
            archive.write(path, f"smops/{path.relative_to(root)}")
    return buffer.getvalue()


def _wait(sm, name: str, timeout_seconds: float, region: str, profile: str | None) -> dict:
    seen = {"status": None}

    def fetch():
        job = sm.describe_processing_job(ProcessingJobName=name)
        if job["ProcessingJobStatus"] != seen["status"]:
            seen["status"] = job["ProcessingJobStatus"]
            gha.log(f"  processing job {name}: {seen['status']}")
        return job

    try:
        job = waiting.wait_for(fetch, lambda job: job["ProcessingJobStatus"] in TERMINAL,
                               timeout_seconds=timeout_seconds, what=f"processing job {name}",
                               status=lambda job: job["ProcessingJobStatus"])
    except TimedOut as exc:
        sm.stop_processing_job(ProcessingJobName=name)
        raise TimedOut(f"{exc.problem}; stopped it", "raise --timeout, or add instances (--instance-count)") from None
    if job["ProcessingJobStatus"] != "Completed":
        _print_logs(name, region, profile)
        raise RemoteFailure(
            f"processing job {name} {job['ProcessingJobStatus']}: {job.get('FailureReason') or 'no reason given'}",
            f"its log lines are above; all of them: CloudWatch log group {LOG_GROUP}, streams {name}/*; "
            f"job: {aws.console_url(region, f'processing-jobs/{name}')}")
    return job


def _print_logs(name: str, region: str, profile: str | None, limit: int = 200) -> None:
    """The job's CloudWatch log lines (the last `limit`), every instance's stream."""
    logs = aws.client("logs", region, profile)
    lines = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/"):
            lines += [f"{event['logStreamName'].split('/', 1)[-1]}: {event['message'].rstrip()}" for event in page["events"]]
    except aws.ERRORS as exc:
        gha.warning(f"could not read the job's log lines: {aws.describe_error(exc, LOG_GROUP)}")
        return
    gha.log(f"processing job {name}: its last {min(len(lines), limit)} log lines")
    for line in lines[-limit:]:
        gha.log(f"  {line}")
