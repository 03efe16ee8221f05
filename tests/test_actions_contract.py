"""The contract between the YAML consumers touch and the smops command line, checked statically.

Every action input is a flag of its command (and every flag an input), reaches smops as its
SMOPS_* variable and has the flag's default; every reusable-workflow input is used and every
output produced by a step; third-party actions are pinned to commit SHAs; no `${{ }}` is
interpolated into a script; the generated root action and documentation tables are current.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from smops.cli import env_name

spec = importlib.util.spec_from_file_location("gen_actions", ROOT / "scripts" / "gen_actions.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

FOCUSED = {"actions/build": "build", "actions/deploy": "deploy", "actions/smoke-test": "smoke-test", "actions/emulator": "emulator",
           "actions/drift": "drift"}
ACTION_FILES = sorted(p.relative_to(ROOT) for p in [ROOT / "action.yml", *ROOT.glob("actions/*/action.yml")])
WORKFLOW_FILES = sorted(p.relative_to(ROOT) for p in [*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("workflows/*.yml")])
REUSABLE = [Path(".github/workflows/build.yml"), Path(".github/workflows/deploy.yml")]
# The monitor workflow has no rehearsal and no long wait: only the general contract applies to it.
ALL_REUSABLE = [*REUSABLE, Path(".github/workflows/monitor.yml")]
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{")
PLAIN_REFERENCE = re.compile(r"^\$\{\{ (inputs\.[\w-]+|steps\.[\w-]+\.outputs\.[\w-]+) \}\}$")
TOOLKIT = "./.smops-toolkit"


def toolkit_action(uses: str) -> str | None:
    """The toolkit's action a reusable workflow's `uses:` names, relative to the toolkit's root
    (`.` for the root action); None for anything else."""
    if uses == TOOLKIT:
        return "."
    return uses.removeprefix(TOOLKIT + "/") if uses.startswith(TOOLKIT + "/") else None


def load(path: Path | str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get(True) or workflow.get("on") or {}  # PyYAML reads the `on:` key as True


def flags(command: str) -> dict[str, argparse.Action]:
    return {gen.flag_name(a): a for a in gen.command_flags(command) if gen.flag_name(a) not in gen.NOT_INPUTS}


def smops_step(action: dict) -> dict:
    return next(s for s in action["runs"]["steps"] if s.get("id") == "smops")


def every_step(document: dict):
    if "runs" in document:
        yield from document["runs"].get("steps", [])
    for job in (document.get("jobs") or {}).values():
        yield from job.get("steps", [])


def expected_default(flag: argparse.Action) -> str | None:
    """The input default that means the same as the flag's default (None: no default)."""
    if flag.required or flag.default is None or flag.default == []:
        return None
    if isinstance(flag.default, bool):
        return str(flag.default).lower()
    if isinstance(flag.default, float) and flag.default.is_integer():
        return str(int(flag.default))
    return str(flag.default)


# -- actions ↔ flags --------------------------------------------------------------------------


@pytest.mark.parametrize("path,command", FOCUSED.items())
def test_focused_action_inputs_are_exactly_the_flags_of_its_command(path, command):
    inputs = set(load(f"{path}/action.yml")["inputs"]) - gen.ACTION_INPUTS
    assert inputs == set(flags(command)), "inputs without a flag / flags without an input"


@pytest.mark.parametrize("path,command", FOCUSED.items())
def test_focused_action_passes_every_input_as_its_smops_variable(path, command):
    action = load(f"{path}/action.yml")
    env = smops_step(action)["env"]
    expected = {env_name(f"--{name}"): f"${{{{ inputs.{name} }}}}" for name in flags(command)}
    passed = {k: v for k, v in env.items() if k != "SMOPS_PYTHON" and k not in gen.TOKEN_ENV}
    assert passed == expected
    assert {k: env[k] for k in env.keys() & gen.TOKEN_ENV.keys()} == {
        k: v for k, v in gen.TOKEN_ENV.items() if "github-token" in load(f"{path}/action.yml")["inputs"]
    }


@pytest.mark.parametrize("path,command", FOCUSED.items())
def test_focused_action_defaults_and_required_match_the_flags(path, command):
    inputs = load(f"{path}/action.yml")["inputs"]
    for name, flag in flags(command).items():
        meta = inputs[name]
        assert meta.get("required", False) == bool(flag.required), name
        default = meta.get("default")
        want = expected_default(flag)
        if want is None:
            assert default in (None, ""), f"{name}: the flag has no default, the input has {default!r}"
        else:
            assert str(default) == want, f"{name}: input default {default!r}, flag default {flag.default!r}"
        if flag.choices and default:
            assert default in flag.choices
        # The description states the default, so the reader of the docs sees it too.
        if want not in (None, "", "false"):
            assert f"`{want}`" in meta["description"], f"{name}: description does not state `{want}`"


def test_root_action_takes_every_flag_of_every_command_it_runs():
    action = load("action.yml")
    union = {name for command in gen.COMMANDS for name in flags(command)}
    assert set(action["inputs"]) - gen.ACTION_INPUTS == union
    for name in union:
        assert action["inputs"][name].get("default") == "", f"{name}: the root action leaves defaults to the command"
        assert smops_step(action)["env"][env_name(f"--{name}")] == f"${{{{ inputs.{name} }}}}"
    assert smops_step(action)["env"]["COMMAND"] == "${{ inputs.command }}"


def test_every_input_and_output_is_described():
    for path in ACTION_FILES:
        action = load(path)
        for kind in ("inputs", "outputs"):
            for name, meta in (action.get(kind) or {}).items():
                assert (meta or {}).get("description", "").strip(), f"{path}: {kind} {name}"
                assert name == name.lower() and "_" not in name, f"{path}: {name} is not kebab-case"


# -- outputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path,command", [(p, c) for p, c in FOCUSED.items() if c in gen.OUTPUTS])
def test_focused_action_outputs_are_the_commands_outputs_from_the_smops_step(path, command):
    outputs = load(f"{path}/action.yml")["outputs"]
    assert list(outputs) == gen.OUTPUTS[command]
    for name, meta in outputs.items():
        assert meta["value"] == f"${{{{ steps.smops.outputs.{name} }}}}"


def test_root_action_outputs_are_the_union_of_the_commands_outputs():
    outputs = load("action.yml")["outputs"]
    assert set(outputs) == {o for c in gen.COMMANDS for o in gen.OUTPUTS[c]}
    for name, meta in outputs.items():
        assert meta["value"] == f"${{{{ steps.smops.outputs.{name} }}}}"


# -- house rules for every workflow and action -------------------------------------------------


@pytest.mark.parametrize("path", [*ACTION_FILES, *WORKFLOW_FILES], ids=str)
def test_no_expression_inside_a_run_script(path):
    for step in every_step(load(path)):
        if "run" in step:
            assert not EXPRESSION.search(step["run"]), f"{path}: step {step.get('id') or step.get('name')}"


@pytest.mark.parametrize("path", ACTION_FILES, ids=str)
def test_actions_pass_values_through_without_logic(path):
    # An action only maps inputs to smops: what a `run:` step gets is an input or an earlier
    # step's output as it is, never an expression that decides something.
    for step in load(path)["runs"]["steps"]:
        if "run" not in step:
            continue
        for name, value in (step.get("env") or {}).items():
            if isinstance(value, str) and EXPRESSION.search(value):
                assert PLAIN_REFERENCE.match(value), f"{path}: step {step.get('id')} env {name}: {value}"


@pytest.mark.parametrize("path", [*ACTION_FILES, *WORKFLOW_FILES], ids=str)
def test_third_party_actions_are_pinned_to_a_commit_sha_with_its_version(path):
    lines = (ROOT / path).read_text().splitlines()
    for line in lines:
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$", line)
        if not match:
            continue
        target, comment = match.groups()
        if target.startswith("./"):
            continue
        if target.startswith("ORG/sagemaker-mlops/"):
            # This toolkit, by release tag, only in the starters a consumer copies.
            assert str(path).startswith("workflows/"), f"{path}: {target}"
            continue
        assert SHA_PIN.match(target), f"{path}: {target} is not pinned to a 40-hex commit SHA"
        assert comment and re.search(r"v\d+(\.\d+)*", comment), f"{path}: {target} has no `# vX.Y.Z` comment"


def test_the_same_pin_everywhere():
    """One SHA per third-party action across the repository, so an update touches every copy."""
    pins: dict[str, set[str]] = {}
    for path in [*ACTION_FILES, *WORKFLOW_FILES]:
        for step in every_step(load(path)):
            uses = step.get("uses", "")
            if "@" in uses and not uses.startswith(("./", "ORG/")):
                name, _, ref = uses.partition("@")
                pins.setdefault(name, set()).add(ref)
    assert pins and all(len(refs) == 1 for refs in pins.values()), pins


SETUP_IDS = ["python", "cache-key", "cache", "setup"]


@pytest.mark.parametrize("path", [*ACTION_FILES, *WORKFLOW_FILES], ids=str)
def test_no_cache_dependency_path_that_setup_python_cannot_hash(path):
    """setup-python hashes only files in the workspace, through @actions/glob, which refuses a
    `..` segment and a `.` one past the first (actions/setup-python#361, #1202)."""
    for step in every_step(load(path)):
        dependency_path = (step.get("with") or {}).get("cache-dependency-path")
        if dependency_path is None:
            continue
        assert "action_path" not in dependency_path, f"{path}: {dependency_path}"
        for pattern in str(dependency_path).split():
            segments = pattern.replace("\\", "/").split("/")
            assert ".." not in segments and "." not in segments[1:], f"{path}: {pattern}"


def test_every_action_sets_up_smops_the_same_way():
    pins = set()
    for path in ACTION_FILES:
        steps = load(path)["runs"]["steps"]
        python, key, cache, setup = steps[:4]
        assert [s.get("id") for s in steps[:4]] == SETUP_IDS, path
        # No setup-python cache: the toolkit's files are outside the workspace it can hash.
        assert python["with"] == {"python-version": "${{ inputs.python-version }}"}, path
        assert key["run"].endswith(" --cache-key"), path
        assert cache["uses"].startswith("actions/cache@")
        assert cache["if"] == "steps.cache-key.outputs.key != ''"
        assert cache["with"] == {
            "path": "${{ steps.cache-key.outputs.dir }}",
            "key": "${{ steps.cache-key.outputs.key }}",
            "restore-keys": "${{ steps.cache-key.outputs.restore-key }}",
        }
        # The key is computed for exactly the install that follows, into the directory cached.
        assert setup["env"].pop("SMOPS_INSTALL_CACHE") == "${{ steps.cache-key.outputs.dir }}", path
        assert key["env"] == setup["env"], path
        assert key["run"] == setup["run"] + " --cache-key", path
        for step in (key, setup):
            script = re.search(r'"\$GITHUB_ACTION_PATH/([^"]+)"', step["run"]).group(1)
            assert (ROOT / Path(path).parent / script).resolve() == ROOT / "actions" / "setup" / "install.py", path
        pins.add((python["uses"], cache["uses"]))
    assert len(pins) == 1
    assert set(gen.SETUP_EXTRAS) == {str(p) for p in ACTION_FILES}


def test_the_deploy_path_never_installs_the_sdk():
    for path in ("actions/deploy/action.yml", "actions/smoke-test/action.yml"):
        for step in load(path)["runs"]["steps"][:4]:
            assert "INPUT_SDK_EXTRA" not in (step.get("env") or {}), path


def test_setup_steps_come_from_one_source():
    for path in ACTION_FILES:
        assert gen.setup_steps(str(path)) in (ROOT / path).read_text(), path
    with pytest.raises(SystemExit, match="setup steps"):
        gen.with_setup_steps("actions/deploy/action.yml", "runs:\n  steps: []\n")


# -- reusable workflows -----------------------------------------------------------------------


def _uses_of_inputs(workflow: dict) -> set[str]:
    text = yaml.safe_dump(workflow["jobs"])
    return set(re.findall(r"inputs\.([\w-]+)", text))


@pytest.mark.parametrize("path", ALL_REUSABLE, ids=str)
def test_every_reusable_workflow_input_and_secret_is_used(path):
    workflow = load(path)
    call = triggers(workflow)["workflow_call"]
    used = _uses_of_inputs(workflow)
    assert set(call["inputs"]) - used == set(), "declared but never used"
    assert used - set(call["inputs"]) == set(), "used but not declared"
    jobs_text = yaml.safe_dump(workflow["jobs"])
    for secret in call.get("secrets") or {}:
        assert f"secrets.{secret}" in jobs_text, secret


@pytest.mark.parametrize("path", ALL_REUSABLE, ids=str)
def test_every_reusable_workflow_output_is_produced_by_a_step(path):
    workflow = load(path)
    for name, meta in triggers(workflow)["workflow_call"]["outputs"].items():
        job_id, job_output = re.fullmatch(r"\$\{\{ jobs\.([\w-]+)\.outputs\.([\w-]+) \}\}", meta["value"]).groups()
        job = workflow["jobs"][job_id]
        step_id, step_output = re.fullmatch(
            r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", job["outputs"][job_output]
        ).groups()
        step = next(s for s in job["steps"] if s.get("id") == step_id)
        action = load(toolkit_action(step["uses"]) + "/action.yml")
        assert step_output in action["outputs"], f"{name}: {step['uses']} has no output {step_output}"


@pytest.mark.parametrize("path", ALL_REUSABLE, ids=str)
def test_reusable_workflow_gives_its_actions_only_inputs_they_declare(path):
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            uses = step.get("uses", "")
            if toolkit_action(uses) is None:
                continue
            declared = load(toolkit_action(uses) + "/action.yml")["inputs"]
            given = set(step.get("with") or {})
            assert given <= set(declared), f"{uses}: {sorted(given - set(declared))}"
            required = {n for n, m in declared.items() if m.get("required") and "default" not in m}
            assert required <= given, f"{uses} misses required {sorted(required - given)}"


@pytest.mark.parametrize("path", ALL_REUSABLE, ids=str)
def test_manual_runs_take_a_subset_of_the_inputs_with_the_same_types(path):
    on = triggers(load(path))
    call, dispatch = on["workflow_call"]["inputs"], on["workflow_dispatch"]["inputs"]
    assert len(dispatch) <= 10  # GitHub's limit before December 2025, and actionlint's
    for name, meta in dispatch.items():
        assert name in call, name
        same = meta["type"] == call[name]["type"]
        assert same or (meta["type"] in {"choice", "environment"} and call[name]["type"] == "string"), name


@pytest.mark.parametrize("path", REUSABLE, ids=str)
def test_reusable_workflow_permissions_and_credentials(path):
    workflow = load(path)
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        # A build comments on its pull request (pr-comment); nothing else writes to GitHub.
        comments = {"pull-requests": "write"} if path.name == "build.yml" else {}
        assert job["permissions"] == {"id-token": "write", "contents": "read", **comments}
        steps = job["steps"]
        credentials = [s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
        emulator = [s for s in steps if s.get("uses") == "./.smops-toolkit/actions/emulator"]
        # Exactly one of the two runs: AWS for real, the emulator for a rehearsal.
        assert [s["if"] for s in credentials] == ["${{ !inputs.rehearsal }}"]
        assert [s["if"] for s in emulator] == ["${{ inputs.rehearsal }}"]
        assert steps.index(credentials[0]) < steps.index(emulator[0]) < min(
            i for i, s in enumerate(steps) if s.get("id") in {"build", "deploy"}
        )
        for checkout in (s for s in steps if s.get("uses", "").startswith("actions/checkout@")):
            assert checkout["with"]["persist-credentials"] is False


def _session_seconds(step: dict, **env: str) -> int:
    """Run the session-length step's script as the runner would, with these env values."""
    output = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": "/dev/stdout", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(output.strip().removeprefix("seconds="))


@pytest.mark.parametrize("path", REUSABLE, ids=str)
def test_aws_session_outlasts_the_wait(path):
    """STS's default session is one hour; the jobs wait up to timeout-minutes (build 120)."""
    workflow = load(path)
    call = triggers(workflow)["workflow_call"]["inputs"]
    for job_id, job in workflow["jobs"].items():
        steps = {s.get("id"): s for s in job["steps"]}
        session, credentials = steps["session"], steps["credentials"]
        assert job["steps"].index(session) + 1 == job["steps"].index(credentials), job_id
        assert session["if"] == credentials["if"]
        assert credentials["with"]["role-duration-seconds"] == "${{ steps.session.outputs.seconds }}"
        default = call["timeout-minutes"]["default"]
        # The workflow_call default again, for manual runs, which do not take timeout-minutes.
        assert session["env"]["WAIT_MINUTES"] == f"${{{{ inputs.timeout-minutes || {default} }}}}"
        # smops deploy keeps wait-if-busy's wait within the same --timeout: one wait per job.
        assert set(session["env"]) == {"WAIT_MINUTES"}
        assert not EXPRESSION.search(session["run"])
        assert _session_seconds(session, WAIT_MINUTES=str(default)) == (default + 15) * 60
        assert _session_seconds(session, WAIT_MINUTES="7.5") == (7 + 15) * 60


def test_the_default_sessions_fit_the_roles_of_infra():
    template = (ROOT / "infra" / "github-oidc.yaml").read_text()
    build, deploy, _monitor = (int(n) for n in re.findall(r"MaxSessionDuration: (\d+)", template))
    for path, role_max in ((".github/workflows/build.yml", build), (".github/workflows/deploy.yml", deploy)):
        workflow = load(path)
        default = triggers(workflow)["workflow_call"]["inputs"]["timeout-minutes"]["default"]
        for job in workflow["jobs"].values():
            session = next(s for s in job["steps"] if s.get("id") == "session")
            assert _session_seconds(session, WAIT_MINUTES=str(default)) <= role_max, path


def test_deploy_workflow_promotes_from_staging_to_production():
    jobs = load(".github/workflows/deploy.yml")["jobs"]
    staging, production = jobs["staging"], jobs["production"]
    assert production["needs"] == "staging"
    assert staging["environment"]["name"] == "${{ inputs.staging-environment }}"
    assert production["environment"]["name"] == "${{ inputs.production-environment }}"
    for job, endpoint in ((staging, "staging-endpoint-name"), (production, "production-endpoint-name")):
        assert job["concurrency"]["cancel-in-progress"] is False
        assert f"inputs.{endpoint}" in job["concurrency"]["group"]
    deploy = next(s for s in production["steps"] if s.get("id") == "deploy")["with"]
    assert deploy["model-package-arn"] == "${{ needs.staging.outputs.model-package-arn }}"
    assert "inputs.staging-endpoint-name" in deploy["require-on-endpoint"]
    smoke = [s for s in staging["steps"] if s.get("uses") == "./.smops-toolkit/actions/smoke-test"]
    assert len(smoke) == 1 and staging["steps"].index(smoke[0]) > staging["steps"].index(
        next(s for s in staging["steps"] if s.get("id") == "deploy")
    )
    # Cleanup, when asked for, is the last step of each job: after the smoke test, after production.
    for job, endpoint in ((staging, "staging-endpoint-name"), (production, "production-endpoint-name")):
        cleanup = job["steps"][-1]
        assert cleanup["id"] == "cleanup" and cleanup["uses"] == "./.smops-toolkit"
        assert cleanup["if"] == "${{ !inputs.dry-run && inputs.cleanup-keep != '' }}"
        assert cleanup["with"]["command"] == "cleanup"
        assert cleanup["with"]["endpoint-name"] == f"${{{{ inputs.{endpoint} }}}}"
        assert cleanup["with"]["keep"] == "${{ inputs.cleanup-keep }}"


def test_deploy_workflow_gives_both_environments_the_same_settings():
    jobs = load(".github/workflows/deploy.yml")["jobs"]
    staging, production = (
        next(s for s in jobs[j]["steps"] if s.get("id") == "deploy")["with"] for j in ("staging", "production")
    )
    # Production alone captures by default (for the monitor); staging only with data-capture-uri.
    own = {"model-package-arn", "model-package-group", "endpoint-name", "environment", "role-arn", "require-on-endpoint",
           "data-capture-uri"}
    shared = {k: v for k, v in staging.items() if k not in own}
    assert shared == {k: v for k, v in production.items() if k not in own}
    assert staging["data-capture-uri"] == "${{ inputs.data-capture-uri }}"
    assert production["data-capture-uri"] == "${{ inputs.production-data-capture-uri || inputs.data-capture-uri }}"
    for name in ("variant-name", "serverless-memory-mb", "max-execution-timeout", "wait-if-busy", "tag"):
        assert name in shared, name


def test_build_workflow_has_one_concurrency_group_per_pipeline():
    """Per pipeline, not per ref: builds of one pipeline from two refs must not interleave."""
    job = load(".github/workflows/build.yml")["jobs"]["build"]
    assert job["concurrency"]["cancel-in-progress"] is False
    group = job["concurrency"]["group"]
    assert "inputs.pipeline-name" in group and "inputs.region" in group and "github.ref" not in group


# -- starters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["build", "deploy"])
def test_starter_calls_the_reusable_workflow_with_toolkit_ref_in_step(name):
    starter = load(f"workflows/{name}.yml")
    (job,) = [j for j in starter["jobs"].values() if "uses" in j]  # the build starter also has a doctor job
    target, _, ref = job["uses"].partition("@")
    assert target == f"ORG/sagemaker-mlops/.github/workflows/{name}.yml"
    assert job["with"]["toolkit-ref"] == ref
    # A nested job may not ask for more than its caller grants: GitHub refuses the run at startup.
    for called in load(f".github/workflows/{name}.yml")["jobs"].values():
        assert called["permissions"].items() <= job["permissions"].items()
    reusable = triggers(load(f".github/workflows/{name}.yml"))["workflow_call"]["inputs"]
    assert set(job["with"]) <= set(reusable)
    required = {n for n, m in reusable.items() if m.get("required")}
    assert required <= set(job["with"])


def test_deploy_starter_runs_on_the_approval_dispatch_and_by_hand():
    on = triggers(load("workflows/deploy.yml"))
    assert on["repository_dispatch"] == {"types": ["model_approved"]}
    assert on["workflow_dispatch"]["inputs"]["model-package-arn"]["required"] is True
    (job,) = load("workflows/deploy.yml")["jobs"].values()
    arn = job["with"]["model-package-arn"]
    assert "github.event.client_payload['model-package-arn']" in arn and "inputs.model-package-arn" in arn


# -- generated files --------------------------------------------------------------------------


def test_generated_root_action_and_tables_are_current():
    stale = [str(p.relative_to(ROOT)) for p, text in gen.targets().items() if not p.exists() or p.read_text() != text]
    assert stale == [], "run scripts/generate-actions"


def test_docs_have_a_table_for_every_action_and_reusable_workflow():
    docs = (ROOT / "docs" / "github-actions.md").read_text()
    for path in ["actions/build", "actions/deploy", "actions/smoke-test", "actions/setup", "actions/emulator",
                 "actions/drift", ".github/workflows/build.yml", ".github/workflows/deploy.yml",
                 ".github/workflows/monitor.yml"]:
        for kind in ("inputs", "outputs"):
            assert f"<!-- {kind}:{path} -->" in docs, f"{kind}:{path}"


def test_table_generation_follows_the_yaml(tmp_path):
    table = gen.table("inputs", "actions/deploy")
    assert "| `strategy` | no | `all-at-once` |" in table
    assert "| `endpoint-name` | yes |  |" in table
    stale = "<!-- outputs:actions/smoke-test -->\n| old |\n<!-- /outputs:actions/smoke-test -->\n"
    assert gen.render_doc(stale) == (
        "<!-- outputs:actions/smoke-test -->\n" + gen.table("outputs", "actions/smoke-test") + "\n<!-- /outputs:actions/smoke-test -->\n"
    )


def test_monitor_starter_retrains_through_the_build_starter_when_drifted():
    on = triggers(load("workflows/monitor.yml"))
    assert "schedule" in on and "workflow_dispatch" in on
    jobs = load("workflows/monitor.yml")["jobs"]
    assert jobs["drift"]["uses"] == "ORG/sagemaker-mlops/.github/workflows/monitor.yml@v1"
    assert jobs["drift"]["with"]["toolkit-ref"] == "v1"
    retrain = jobs["retrain"]
    assert retrain["needs"] == "drift" and retrain["if"] == "needs.drift.outputs.retrain == 'true'"
    assert retrain["uses"] == "./.github/workflows/build.yml"
    assert retrain["with"]["retrain-reason"] == "drift:${{ needs.drift.outputs.drifted-features }}"
    # GitHub refuses the run when a called job asks for more than the caller grants, skipped or not.
    for called in load("workflows/build.yml")["jobs"].values():
        assert called["permissions"].items() <= retrain["permissions"].items()
    build = triggers(load("workflows/build.yml"))
    assert set(build["workflow_call"]["inputs"]) == {"retrain-reason"}
    assert build["repository_dispatch"] == {"types": ["model_drift"]}
    job = load("workflows/build.yml")["jobs"]["build"]
    assert "RetrainReason=" in job["with"]["parameters"] and "client_payload.features" in job["with"]["parameters"]


def test_only_the_drift_and_build_actions_install_the_monitor_extra():
    """Drift compares with a baseline, and the build profiles each package's baseline (issue 17):
    both need numpy and datasketches; the deploy path does not."""
    for path in ACTION_FILES:
        extras = {k for step in load(path)["runs"]["steps"][:4] for k in (step.get("env") or {})}
        assert ("INPUT_MONITOR_EXTRA" in extras) == (str(path) in {"actions/drift/action.yml", "actions/build/action.yml"}), path
