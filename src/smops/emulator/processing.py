"""Processing jobs that run: each instance's container as a local process.

moto stores CreateProcessingJob and reports it Completed at once, running nothing. Here a job
whose AppSpecification has a ContainerEntrypoint is run as SageMaker runs it, without Docker:
one process per instance (ProcessingResources.ClusterConfig.InstanceCount), each under a temporary
directory standing for its /opt/ml (every argument starting with /opt/ml is rewritten to it),
with config/resourceconfig.json naming the instance (algo-1, algo-2, ...), each S3 input
downloaded under its LocalPath (ShardedByS3Key: the objects dealt out among the instances, each
getting about 1/n of them; FullyReplicated: all of them to each), and the outputs' LocalPath
uploaded to their S3Uri when every process ended. The image is not run: the command runs on the
emulator's own Python (first on PATH), with only the job's Environment. The status moves
InProgress → Completed (every process exited 0), Failed (with an AlgorithmError FailureReason) or
Stopped (StopProcessingJob ends the processes), and each instance's output lines go to CloudWatch
Logs, group /aws/sagemaker/ProcessingJobs, stream JOB/algo-N-EPOCH, as SageMaker writes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

from moto.core.utils import utcnow

from smops import aws

LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
ROOT = "/opt/ml"

# Keyed by moto's FakeProcessingJob, so a moto reset forgets the runs with it.
_runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def patch(response_class) -> None:
    original_create = response_class.create_processing_job
    original_stop = response_class.stop_processing_job

    def create_processing_job(self):
        result = original_create(self)
        backend = self.sagemaker_backend
        job = backend.processing_jobs[self._get_param("ProcessingJobName")]
        job.processing_resources = self._get_param("ProcessingResources")
        job.environment = self._get_param("Environment") or {}
        if (job.app_specification or {}).get("ContainerEntrypoint"):
            job.processing_job_status = "InProgress"
            job.processing_end_time = None
            run = Run(job, backend.account_id, backend.region_name)
            _runs[job] = run
            threading.Thread(target=run.play, name=f"processing-{job.processing_job_name}", daemon=True).start()
        return result

    def stop_processing_job(self):
        job = self.sagemaker_backend.processing_jobs.get(self._get_param("ProcessingJobName"))
        result = original_stop(self)
        if job is not None and job in _runs:
            _runs[job].stop()
        return result

    for function in (create_processing_job, stop_processing_job):
        setattr(response_class, function.__name__, function)


class Run:
    """One job's instances, from download to upload."""

    def __init__(self, job, account_id: str, region: str):
        self.job = job
        self.account_id = account_id
        self.region = region
        self.processes: list[subprocess.Popen] = []
        self.stopped = False

    def play(self) -> None:
        from smops.emulator import _lock

        count = int(self.job.processing_resources["ClusterConfig"]["InstanceCount"])
        hosts = [f"algo-{i + 1}" for i in range(count)]
        with tempfile.TemporaryDirectory(prefix="smops-processing-") as temp:
            roots = [Path(temp) / host for host in hosts]
            try:
                with _lock:
                    for index, (host, root) in enumerate(zip(hosts, roots)):
                        self._prepare(root, host, hosts, index)
                    self.job.processing_start_time = utcnow()
                    if LOG_GROUP not in self._logs().groups:
                        self._logs().create_log_group(LOG_GROUP, {})
                codes = self._run(hosts, roots)
            except Exception as exc:  # a bad input (no such bucket, ...): the job fails, as SageMaker's would
                codes, reason = None, f"ClientError: {exc}"
            with _lock:
                if self.stopped:
                    self.job.processing_job_status = "Stopped"
                elif codes is not None and not any(codes):
                    for root in roots:
                        self._upload(root)
                    self.job.processing_job_status = "Completed"
                else:
                    if codes is not None:
                        host, code = next((h, c) for h, c in zip(hosts, codes) if c)
                        reason = f"AlgorithmError: {host} exited with code {code}; see the job's logs"
                    self.job.processing_job_status = "Failed"
                    self.job.failure_reason = reason
                self.job.processing_end_time = utcnow()
                self.job.last_modified_time = self.job.processing_end_time

    def stop(self) -> None:
        self.stopped = True
        for process in self.processes:
            process.kill()

    def _run(self, hosts: list[str], roots: list[Path]) -> list[int]:
        spec = self.job.app_specification
        env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8", **(self.job.environment or {})}
        streams = []
        for host, root in zip(hosts, roots):
            command = [_local(part, root) for part in [*spec["ContainerEntrypoint"], *(spec.get("ContainerArguments") or [])]]
            process = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.processes.append(process)
            stream = f"{self.job.processing_job_name}/{host}-{int(time.time())}"
            reader = threading.Thread(target=self._log_lines, args=(process, stream), daemon=True)
            reader.start()
            streams.append(reader)
        codes = [process.wait() for process in self.processes]
        for reader in streams:
            reader.join()
        return codes

    def _log_lines(self, process: subprocess.Popen, stream: str) -> None:
        from smops.emulator import _lock

        with _lock:
            self._logs().create_log_stream(LOG_GROUP, stream)
        for line in process.stdout:
            event = {"timestamp": int(time.time() * 1000), "message": line.decode("utf-8", "replace").rstrip("\n")}
            with _lock:
                self._logs().put_log_events(LOG_GROUP, stream, [event])

    def _prepare(self, root: Path, host: str, hosts: list[str], index: int) -> None:
        (root / "config").mkdir(parents=True)
        (root / "config" / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": hosts}))
        s3 = self._s3()
        for spec in self.job.processing_inputs or []:
            given = spec.get("S3Input")
            if not given:
                continue
            bucket, objects = self._objects(given)
            if given.get("S3DataDistributionType") == "ShardedByS3Key":
                objects = objects[index::len(hosts)]
            target = _local(given["LocalPath"], root)
            for key, relative in objects:
                path = Path(target) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(s3.get_object(bucket, key).value)
        for output in (self.job.processing_output_config or {}).get("Outputs", []):
            if output.get("S3Output"):
                Path(_local(output["S3Output"]["LocalPath"], root)).mkdir(parents=True, exist_ok=True)

    def _objects(self, given: dict) -> tuple[str, list[tuple[str, str]]]:
        """(bucket, [(key, path under LocalPath)]) of an S3Input: a prefix's objects, or a
        manifest's ([{"prefix": "s3://bucket/prefix/"}, "relative/key", ...])."""
        s3 = self._s3()
        bucket, prefix = aws.split_s3_uri(given["S3Uri"])
        if given.get("S3DataType") == "ManifestFile":
            manifest = json.loads(s3.get_object(bucket, prefix).value)
            bucket, prefix = aws.split_s3_uri(manifest[0]["prefix"])
            return bucket, [(prefix + relative, relative) for relative in manifest[1:]]
        keys = sorted(k for k in s3.get_bucket(bucket).keys.keys() if k.startswith(prefix))
        return bucket, [(key, key[len(prefix):].lstrip("/") or key.rsplit("/", 1)[-1]) for key in keys]

    def _upload(self, root: Path) -> None:
        for output in (self.job.processing_output_config or {}).get("Outputs", []):
            given = output.get("S3Output")
            if not given:
                continue
            bucket, prefix = aws.split_s3_uri(given["S3Uri"])
            local = Path(_local(given["LocalPath"], root))
            for path in sorted(p for p in local.rglob("*") if p.is_file()):
                key = "/".join(filter(None, [prefix.strip("/"), str(path.relative_to(local))]))
                self._s3().put_object(bucket, key, path.read_bytes())

    def _s3(self):
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    def _logs(self):
        from moto.logs.models import logs_backends

        return logs_backends[self.account_id][self.region]


def _local(part: str, root: Path) -> str:
    """An argument or path naming /opt/ml, pointed at this instance's directory instead."""
    return str(root) + part[len(ROOT):] if part == ROOT or part.startswith(ROOT + "/") else part
