"""`smops demo`: the whole lifecycle on the embedded emulator, through real `smops` processes.

Each phase runs the command a workflow step runs, as a separate process with its own
GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files; the demo only plays the parts that are not smops:
EventBridge routing the approval to a queue (the approval bridge's rule), the GitHub API that
records the dispatch, and a CloudWatch alarm that trips during the production bake.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from smops import gha
from smops.errors import BadInput, RemoteFailure
from smops.waiting import duration

ROLE = "arn:aws:iam::123456789012:role/smops-demo"
GROUP = "AbaloneModelPackageGroup"
REPOSITORY = "octo-org/abalone"
STAGING, PRODUCTION = "abalone-staging", "abalone-production"
BUCKET = "smops-demo"
# The evaluation report the emulator writes for each build: v2 is better than v1, v3 worse.
FIRST_METRICS = {"mse": 4.62, "mae": 1.53, "r2": 0.556}
SECOND_METRICS = {"mse": 4.41, "mae": 1.49, "r2": 0.577}
THIRD_METRICS = {"mse": 5.31, "mae": 1.71, "r2": 0.49}
GATES = ("--baseline-endpoint", PRODUCTION, "--gate", "regression_metrics.r2>=0.5",
         "--gate", "mse:no-worse-than-baseline:2%")
APPROVALS_QUEUE = "smops-demo-approvals"
GITHUB_TOKEN = "ghp_smopsDemoTokenNotReal0000000000000"  # the bridge's secret; never printed
# The emulator answers in milliseconds; a limit that a busy machine cannot breach by accident.
SMOKE_MAX_LATENCY_MS = "10000"
# The approval bridge's rule, as infra/approval-bridge.yaml writes it for this group: every state
# change of its packages, whatever the approval status.
BRIDGE_PATTERN = {
    "source": ["aws.sagemaker"],
    "detail-type": ["SageMaker Model Package State Change"],
    "detail": {"ModelPackageGroupName": [GROUP]},
}


def _abalone(rng: random.Random, size: float) -> str:
    """One plausible abalone as a CSV request (examples/code/preprocess.py's features: length,
    diameter, five more measurements, then sex one-hot, _c0 to _c9 in the baseline, which the
    headerless train split names so); `size` scales its length and diameter."""
    length = rng.uniform(0.2, 0.75)
    weight = 2.0 * length**3 * rng.uniform(0.8, 1.2)
    sex = rng.randrange(3)
    cells = [length * size, length * 0.8 * size * rng.uniform(0.95, 1.05), length * 0.27, weight,
             weight * 0.43, weight * 0.22, weight * 0.29] + [int(i == sex) for i in range(3)]
    return ",".join(f"{c:.4f}" if isinstance(c, float) else str(c) for c in cells)


class Expectation(Exception):
    """A phase did not do what the lifecycle needs."""


class Demo:
    def __init__(self, emulator, github, workdir: Path, example: Path, verbose: bool):
        import boto3

        self.emulator = emulator
        self.github = github
        self.workdir = workdir
        self.example = example
        self.verbose = verbose
        self.summaries: list[tuple[str, str]] = []
        self.stdout = ""
        self.status_text = ""
        self.narrative: list[tuple[str, str, float]] = []
        self.steps = 0
        kwargs = {"endpoint_url": emulator.url, "region_name": emulator.region,
                  "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.sagemaker = boto3.client("sagemaker", **kwargs)
        self.cloudwatch = boto3.client("cloudwatch", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        self.events = boto3.client("events", **kwargs)
        self.secrets = boto3.client("secretsmanager", **kwargs)
        self.autoscaling = boto3.client("application-autoscaling", **kwargs)
        self.s3 = boto3.client("s3", **kwargs)
        self.runtime = boto3.client("sagemaker-runtime", **kwargs)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOPS_", "GITHUB_"))},
            **emulator.env(),
            **github.env(),
            "AWS_EC2_METADATA_DISABLED": "true",
            "SMOPS_POLL_SECONDS": "0.2",
            # smops' caches (the rendered definition) start empty, as on a fresh runner.
            "XDG_CACHE_HOME": str(workdir / "cache"),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        }

    # -- running phases ---------------------------------------------------------------------------

    def smops(self, title: str, *args: str, expect: int = 0, run_id: int = 1) -> dict[str, str]:
        """Run one smops command as a workflow step; check its exit code; return its outputs."""
        self.steps += 1
        output = self.workdir / f"step-{self.steps}.output"
        summary = self.workdir / f"step-{self.steps}.summary.md"
        env = {**self.env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
               "GITHUB_RUN_ID": str(run_id)}
        result = subprocess.run([sys.executable, "-m", "smops", *args], env=env, capture_output=True,
                                text=True, timeout=300)
        if self.verbose:
            sys.stderr.write(result.stderr)
        self.stdout = result.stdout
        if summary.exists():
            self.summaries.append((f"{title} — `smops {args[0]}`", summary.read_text()))
        if result.returncode != expect:
            error = next((line for line in result.stderr.splitlines() if line.startswith("error:")), "")
            raise Expectation(
                f"{title}: expected `smops {args[0]}` to exit {expect}, it exited {result.returncode}"
                + (f" ({error})" if error else f"\n{result.stderr[-2000:]}")
            )
        return gha.read_outputs(output)

    def phase(self, name: str, work) -> None:
        started = time.monotonic()
        story = work()
        seconds = time.monotonic() - started
        self.narrative.append((name, story, seconds))
        print(f"✓ {name:<28} {duration(seconds):>5}  {story}", flush=True)

    def check(self, holds: bool, expectation: str) -> None:
        if not holds:
            raise Expectation(expectation)

    # -- the parts that are not smops ----------------------------------------------------------------

    def setup(self) -> None:
        """The approval bridge's secret and EventBridge rule, delivering to a queue the demo reads."""
        self.secret = self.secrets.create_secret(
            Name="smops-approval-bridge/github", SecretString=GITHUB_TOKEN
        )["ARN"]
        queue = self.sqs.create_queue(QueueName=APPROVALS_QUEUE)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name="smops-approval-bridge", EventPattern=json.dumps(BRIDGE_PATTERN))
        self.events.put_targets(Rule="smops-approval-bridge", Targets=[{"Id": "bridge", "Arn": arn}])
        self.queue = queue
        self.s3.create_bucket(Bucket=BUCKET)  # the artifact bucket: code, baselines, data capture

    def delivered_events(self) -> list[Path]:
        """The events EventBridge delivered since the last call (the package's registration and its
        approval), each saved as the Lambda would get it."""
        messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        paths = []
        for number, message in enumerate(messages):
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
            paths.append(self.workdir / f"event-{self.steps}-{number}.json")
            paths[-1].write_text(message["Body"])
        statuses = [json.loads(path.read_text())["detail"]["ModelApprovalStatus"] for path in paths]
        self.check(statuses.count("Approved") == 1, f"EventBridge delivered {statuses}, expected one approval")
        return paths

    def trip_alarm_during_bake(self, alarm: str) -> threading.Thread:
        """Put the 5XX alarm into ALARM once the production update is baking, as a bad model would."""

        def watch():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                found = self.sagemaker.describe_endpoint(EndpointName=PRODUCTION)
                if found.get("PendingDeploymentSummary") and found["EndpointStatus"] == "Updating":
                    self.cloudwatch.set_alarm_state(
                        AlarmName=alarm, StateValue="ALARM",
                        StateReason="Threshold crossed: 14 Invocation5XXErrors in 1 minute (smops demo)",
                    )
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return thread

    def serving(self, endpoint: str) -> str:
        from smops.endpoint import config_package

        return config_package(self.sagemaker, self.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])

    # -- the lifecycle -------------------------------------------------------------------------------

    def build(self, run_id: int, *extra: str, expect: int = 0, status: str = "PendingManualApproval") -> str:
        out = self.smops(
            "build", "build", "--pipeline", str(self.example / "pipeline.py"), "--pipeline-name", "abalone",
            "--role-arn", ROLE, "--default-bucket", BUCKET, "--model-package-group", GROUP, *extra,
            run_id=run_id, expect=expect,
        )
        self.check(out.get("execution-status") == "Succeeded", f"build: execution {out.get('execution-status')}")
        arn = out.get("model-package-arn", "")
        found = self.sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] if arn else None
        self.check(found == status, f"build: expected a {status} package, got {found}")
        return arn

    def approve_and_dispatch(self, arn: str) -> str:
        """Approve; the bridge runs on every event delivered, as the Lambda would, and turns the
        approval (only) into a dispatch; return the payload's package ARN."""
        self.smops("approve", "approve", "--model-package-arn", arn, "--description", "reviewed in smops demo")
        before = len(self.github.dispatches())
        for event in self.delivered_events():
            self.smops("approval bridge", "dispatch", "--event", str(event), "--repository", REPOSITORY,
                       "--github-secret-arn", self.secret)
        sent = self.github.dispatches()[before:]
        self.check(len(sent) == 1, f"approval bridge: GitHub got {len(sent)} dispatches, expected 1")
        body = sent[0].body
        self.check(body["event_type"] == "model_approved", f"dispatch event_type {body['event_type']!r}")
        payload = body["client_payload"]
        self.check(payload["model-package-arn"] == arn, "dispatch payload names another model package")
        return payload["model-package-arn"]

    def staging(self, arn: str, payload: Path) -> None:
        out = self.smops("deploy staging", "deploy", "--model-package-arn", arn, "--endpoint-name", STAGING,
                         "--role-arn", ROLE, "--environment", "staging")
        self.check(out["action"] in {"created", "updated"}, f"staging deploy action {out['action']}")
        smoke = self.smops("smoke test staging", "smoke-test", "--endpoint-name", STAGING, "--payload",
                           str(payload), "--count", "3", "--max-latency-ms", SMOKE_MAX_LATENCY_MS)
        self.check(smoke["status-code"] == "200", f"smoke test answered {smoke['status-code']}")

    def production_args(self, arn: str) -> list[str]:
        return [
            "deploy", "--model-package-arn", arn, "--endpoint-name", PRODUCTION,
            "--role-arn", ROLE, "--environment", "production", "--strategy", "canary", "--canary-size", "10",
            "--wait-interval", "300", "--create-alarms", "--require-on-endpoint", STAGING,
            "--autoscaling-min", "1", "--autoscaling-max", "4", "--autoscaling-target", "70",
            "--data-capture-uri", f"s3://{BUCKET}/smops-capture",  # as the deploy starter captures
        ]

    def production(self, arn: str, *more: str, expect: int = 0) -> dict[str, str]:
        return self.smops("deploy production", *self.production_args(arn), *more, expect=expect)

    def production_plan(self, arn: str) -> dict[str, str]:
        """The same deploy with --dry-run: the plan, and nothing changed."""
        return self.smops("plan production", *self.production_args(arn), "--dry-run")

    def drift(self) -> str:
        """Production traffic whose inputs shifted: `smops drift`, with the monitor starter's flags
        only, finds it against the data baseline the build recorded on the package production
        serves; the retraining build registers a new version for review, with its reason; a
        second drift while it waits starts no other retraining."""
        rng = random.Random(7)
        for _ in range(20):  # bigger abalone than the model was trained on
            body = "\n".join(_abalone(rng, 1.35) for _ in range(25))
            self.runtime.invoke_endpoint(EndpointName=PRODUCTION, Body=body.encode(), ContentType="text/csv")
        found = self.monitor()
        self.check(found.get("drifted") == "true" and found.get("retrain") == "true",
                   f"drift: expected drift in the shifted traffic, and a retraining, got {found}")
        reason = f"drift:{found['drifted-features']}"
        arn = self.build(4, "--parameter", f"RetrainReason={reason}")  # the monitor run retrains
        metadata = self.sagemaker.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties") or {}
        self.check(metadata.get("smops:retrain-reason") == reason, f"retrain: the package says {metadata}")
        again = self.monitor()
        self.check(again.get("retrain") == "false" and again.get("pending-retraining") == arn,
                   f"a second drift while {_label(arn)} waits must not retrain: {again}")
        return (f"{found['records']} captured requests drifted in {found['drifted-features']}; retraining "
                f"({reason}) registered {_label(arn)} PendingManualApproval; a second drift while it waits "
                "starts no other build")

    def monitor(self) -> dict[str, str]:
        """The monitor starter's drift job: the endpoint and the window, nothing else."""
        return self.smops("drift", "drift", "--endpoint-name", PRODUCTION, "--since", "24h",
                          "--violations-file", str(self.workdir / "constraint_violations.json"), run_id=4)


def run(args) -> dict[str, str]:
    from smops.emulator import Emulator, settings
    from smops.emulator.github import GitHubStandIn
    from smops.emulator.settings import regression_report

    example = _example_project()
    _require_sdk()
    report = Path(args.report).resolve()
    settings.step_seconds = 0.3
    settings.endpoint_seconds = 0.5
    # Bakes in real time: the v2 canary's 300 s bake is cut short by its alarm (tripped once the
    # update is under way, however busy the machine), and no other deploy bakes.
    settings.time_scale = 1
    settings.fail_steps.update(dict(args.fail_step))
    settings.evaluation_report = regression_report(**FIRST_METRICS)
    # The train split the example's preprocessing step writes (rings, then the request's features):
    # every build profiles it into its package's data baseline, which `smops drift` then finds.
    rng = random.Random(3)
    settings.processing_outputs["train"] = "".join(
        f"{rng.randint(3, 20)},{_abalone(rng, 1.0)}\n" for _ in range(1500))
    started = time.monotonic()
    print("smops demo: the lifecycle on the embedded emulator (fake account 123456789012)\n", flush=True)
    with Emulator() as emulator, GitHubStandIn() as github, tempfile.TemporaryDirectory(prefix="smops-demo-") as tmp:
        demo = Demo(emulator, github, Path(tmp), example, args.verbose)
        demo.setup()
        payload = example / "smoke-payload.csv"
        failure = None
        try:
            first = {}
            demo.phase("1 build", lambda: _story_build(demo, first, run_id=1))
            demo.phase("2 approve → dispatch", lambda: _story_dispatch(demo, first))
            demo.phase("3 staging + smoke test", lambda: _story_staging(demo, first["payload-arn"], payload))
            demo.phase("4 production (canary)", lambda: _story_production(demo, first["payload-arn"]))
            second = {}
            demo.phase("5 v2: build → staging", lambda: _story_second(demo, second, payload))
            demo.phase("5 v2: production plan", lambda: _story_plan(demo, second))
            demo.phase("5 v2: production rollback", lambda: _story_rollback(demo, first, second))
            demo.phase("6 v3: quality gate", lambda: _story_gate(demo))
            demo.phase("7 cleanup", lambda: _story_cleanup(demo))
            demo.phase("8 one-command rollback", lambda: _story_rollback_command(demo, first, second))
            demo.phase("9 drift → retrain", demo.drift)
            demo.phase("10 status", lambda: _story_status(demo))
            demo.phase("11 teardown (dry run)", lambda: _story_teardown(demo))
        except Expectation as exc:
            failure = str(exc)
            print(f"✗ {failure}", flush=True)
        _write_report(report, demo, failure, time.monotonic() - started)
        if demo.status_text:
            print(f"\n$ smops status --model-package-group {GROUP} --endpoint-name {STAGING} --endpoint-name {PRODUCTION}")
            print(demo.status_text.rstrip())
    print(f"\n{'failed' if failure else 'done'} in {duration(time.monotonic() - started)}; report: {report}")
    if failure:
        raise RemoteFailure(f"demo failed: {failure}", f"see {report}")
    return {"report": str(report)}


def _story_build(demo: Demo, state: dict, run_id: int) -> str:
    state["arn"] = demo.build(run_id)
    return f"example pipeline ran; registered {_label(state['arn'])} (PendingManualApproval)"


def _story_dispatch(demo: Demo, state: dict) -> str:
    state["payload-arn"] = demo.approve_and_dispatch(state["arn"])
    return f"approved; EventBridge → bridge → GitHub got model_approved for {_label(state['payload-arn'])}"


def _story_staging(demo: Demo, arn: str, payload: Path) -> str:
    demo.staging(arn, payload)
    return f"{STAGING} serves {_label(arn)}; 3 invocations answered 200"


def _story_production(demo: Demo, arn: str) -> str:
    out = demo.production(arn)
    demo.check(demo.serving(PRODUCTION) == arn, "production does not serve the approved package")
    return (
        f"{PRODUCTION} {out['action']} with {_label(arn)}; the canary and its 5XX and p99 latency "
        "alarms guard every update from here (a first deploy has no traffic to shift)"
    )


def _story_second(demo: Demo, state: dict, payload: Path) -> str:
    from smops.emulator.settings import regression_report, settings

    settings.evaluation_report = regression_report(**SECOND_METRICS)
    arn = demo.build(2, *GATES)
    state["arn"] = demo.approve_and_dispatch(arn)
    demo.staging(state["arn"], payload)
    return (
        f"built {_label(arn)} (r2 {FIRST_METRICS['r2']} → {SECOND_METRICS['r2']} against production's v1, "
        "both gates passed), approved, dispatched and staged it"
    )


def _story_gate(demo: Demo) -> str:
    """A worse model: the gate rejects it in the registry and fails the build, naming the metric."""
    from smops.emulator.settings import regression_report, settings

    settings.evaluation_report = regression_report(**THIRD_METRICS)
    arn = demo.build(3, *GATES, expect=1, status="Rejected")
    reason = demo.sagemaker.describe_model_package(ModelPackageName=arn).get("ApprovalDescription", "")
    demo.check("regression_metrics.r2" in reason, f"the rejection does not name the metric: {reason!r}")
    return f"r2 {THIRD_METRICS['r2']} < 0.5: the gate set {_label(arn)} Rejected (reason in the registry), build exit 1"


def _story_status(demo: Demo) -> str:
    demo.smops("status", "status", "--model-package-group", GROUP, "--endpoint-name", STAGING,
               "--endpoint-name", PRODUCTION)
    demo.status_text = demo.stdout
    return f"lineage of {STAGING} and {PRODUCTION}: package, run, commit, execution, data, approvals"


def _story_teardown(demo: Demo) -> str:
    """What `smops teardown` would delete after the last run; the dry run deletes nothing."""
    out = demo.smops("teardown (dry run)", "teardown", "--dir", str(demo.workdir), "--endpoint-name", STAGING,
                     "--endpoint-name", PRODUCTION, "--model-package-group", GROUP, "--dry-run")
    kinds = [step["kind"] for step in json.loads(out["plan"])]
    demo.check(kinds.count("endpoint") == 2 and "autoscaling" in kinds, f"teardown's plan misses an endpoint: {kinds}")
    demo.check(all(demo.serving(e) for e in (STAGING, PRODUCTION)), "the teardown dry run changed an endpoint")
    counts = ", ".join(f"{kind} ×{kinds.count(kind)}" for kind in dict.fromkeys(kinds))
    return f"smops teardown --dry-run would delete {counts}; the registry is kept; nothing deleted"


def _story_rollback(demo: Demo, first: dict, second: dict) -> str:
    watcher = demo.trip_alarm_during_bake(f"{PRODUCTION}-AllTraffic-5xx-errors")
    demo.production(second["arn"], expect=1)
    watcher.join(timeout=5)
    serving = demo.serving(PRODUCTION)
    demo.check(serving == first["payload-arn"], f"after the rollback production serves {serving}, not v1")
    return f"canary tripped the 5XX alarm; SageMaker rolled back; production still serves {_label(serving)}"


def _story_plan(demo: Demo, second: dict) -> str:
    before = demo.sagemaker.describe_endpoint(EndpointName=PRODUCTION)["EndpointConfigName"]
    out = demo.production_plan(second["arn"])
    plan = json.loads(out["plan"])
    demo.check(out["action"] == "updated", f"plan: expected an update, got {out['action']}")
    after = demo.sagemaker.describe_endpoint(EndpointName=PRODUCTION)["EndpointConfigName"]
    demo.check(after == before, "plan: the dry run changed what production serves")
    return (
        f"smops deploy --dry-run: {_label(second['arn'])} would update {PRODUCTION}, canary 10% then the rest, "
        f"old fleet gone after {duration(plan['old-fleet-gone-at-seconds'])}, {len(plan['alarms'])} alarms; nothing changed"
    )


def _story_rollback_command(demo: Demo, first: dict, second: dict) -> str:
    """v2 promoted once the alarm cleared, autoscaling scales out, then `smops rollback` puts v1 back."""
    demo.cloudwatch.set_alarm_state(
        AlarmName=f"{PRODUCTION}-AllTraffic-5xx-errors", StateValue="OK", StateReason="errors stopped (smops demo)"
    )
    # Bakes take real time in the demo: a short one, since nothing trips this time.
    demo.production(second["arn"], "--wait-interval", "2")
    demo.check(demo.serving(PRODUCTION) == second["arn"], "v2 did not reach production once the alarm cleared")
    demo.sagemaker.update_endpoint_weights_and_capacities(  # what Application Auto Scaling does under load
        EndpointName=PRODUCTION,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 3, "DesiredWeight": 1.0}],
    )
    scaling = demo.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    out = demo.smops("rollback production", "rollback", "--endpoint-name", PRODUCTION, "--environment", "production")
    serving = demo.serving(PRODUCTION)
    demo.check(serving == first["payload-arn"], f"after smops rollback production serves {serving}, not v1")
    found = demo.sagemaker.describe_endpoint(EndpointName=PRODUCTION)["ProductionVariants"][0]
    demo.check(found["DesiredInstanceCount"] == 3, f"the rollback left {found['DesiredInstanceCount']} instances, not 3")
    kept = demo.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    demo.check(kept == scaling, "the rollback changed production's autoscaling")
    return (
        f"v2 promoted once the alarm cleared; `smops rollback` put {_label(serving)} back "
        f"({out['rolled-back-from']} → {out['endpoint-config-name']}), autoscaling 1-4 and its 3 live instances kept"
    )


def _story_cleanup(demo: Demo) -> str:
    deleted = 0
    for endpoint in (STAGING, PRODUCTION):
        out = demo.smops(f"cleanup {endpoint}", "cleanup", "--endpoint-name", endpoint, "--keep", "0")
        deleted += len(out.get("deleted-endpoint-configs", "").split())
    for endpoint in (STAGING, PRODUCTION):
        found = demo.sagemaker.describe_endpoint(EndpointName=endpoint)
        demo.sagemaker.describe_endpoint_config(EndpointConfigName=found["EndpointConfigName"])
        demo.check(found["EndpointStatus"] == "InService", f"cleanup: {endpoint} is {found['EndpointStatus']}")
    return f"deleted {deleted} unused endpoint configs and their models; serving configs kept"


def _label(arn: str) -> str:
    """AbaloneModelPackageGroup v2 (ARNs carry the group name in lower case)."""
    return f"{GROUP} v{arn.rsplit('/', 1)[-1]}"


def _write_report(path: Path, demo: Demo, failure: str | None, seconds: float) -> None:
    lines = [
        "# smops demo report",
        "",
        f"**{'❌ failed: ' + failure if failure else '✅ every phase held'}** — {duration(seconds)} "
        "on the embedded emulator (fake account 123456789012).",
        "",
        gha.table(["phase", "what happened", "time"], [[n, s, duration(t)] for n, s, t in demo.narrative]),
    ]
    for title, summary in demo.summaries:
        lines += ["", f"## {title}", "", summary.strip()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _example_project() -> Path:
    """examples/ of this checkout: next to the current directory or to the source tree."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "examples" / "pipeline.py").is_file():
            return root / "examples"
    raise BadInput("examples/pipeline.py not found", "run smops demo from a clone of sagemaker-mlops")


def _require_sdk() -> None:
    """The demo renders the example with SDK v3 and serves AWS from moto: both must be installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("moto")
        sdk = version("sagemaker")
    except PackageNotFoundError as exc:
        raise BadInput(
            f"the demo needs {exc.name}", "install sagemaker-mlops-actions[sdk,emulator], or run scripts/demo"
        ) from None
    if int(sdk.split(".")[0]) < 3:
        raise BadInput(f"the example pipeline needs SageMaker SDK v3, found {sdk}", "pip install 'sagemaker>=3,<4'")
