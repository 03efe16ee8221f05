"""A consumer project's starters: the answers they hold, read and written in place.

The starters in `.github/workflows/` are the one place a project's settings live: `smops init`
fills them in from the toolkit's own starters, `smops setup-aws` reads them for the stacks'
parameters and writes the roles it made back into them, and `smops doctor` checks them against
AWS and GitHub. Each answer is one input of the job that calls a reusable workflow; editing goes
through ruamel.yaml's round trip, so the comments and layout of the file survive.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from smops.errors import BadInput

# The toolkit as the starters name it (`uses: ORG/sagemaker-mlops/...@v1`).
TOOLKIT_REPOSITORY = "ORG/sagemaker-mlops"
TOOLKIT_REF = "v1"
WORKFLOWS_DIR = Path(".github") / "workflows"
STARTERS = ("build", "deploy")  # every project has these two
# The loop's other two: init writes them unless told not to (--no-monitor, --no-rollback).
OPTIONAL_STARTERS = ("monitor", "rollback")
ALL_STARTERS = STARTERS + OPTIONAL_STARTERS
# Where the deploy starter captures production's traffic, and the monitor role reads it.
CAPTURE_PREFIX = "smops-capture"
# Where the monitor starter writes each run's violations (the monitor role may write only there).
VIOLATIONS_PREFIX = "smops-monitor"
# IAM compares ARNs case-sensitively and SageMaker writes these names in lower case in them.
LOWER_CASE_NAME = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
EXAMPLE = re.compile(r"111122223333|\bmy-")


@dataclass
class Answers:
    """What a project tells the starters. Each field is one input (see INPUTS)."""

    pipeline: str = ""
    pipeline_name: str = ""
    model_package_group: str = ""
    region: str = ""
    pipeline_role_arn: str = ""
    model_role_arn: str = ""
    default_bucket: str = ""
    staging_endpoint_name: str = ""
    production_endpoint_name: str = ""
    smoke_payload: str = ""
    sdk_extra: bool = False
    build_role_arn: str = ""  # written by smops setup-aws
    staging_role_arn: str = ""
    production_role_arn: str = ""
    monitor_role_arn: str = ""
    # s3://BUCKET/smops-capture/PRODUCTION-ENDPOINT and the percent of requests captured there.
    production_capture_uri: str = ""
    capture_percent: int | None = None
    violations_file: str = ""  # s3://BUCKET/smops-monitor/PRODUCTION-ENDPOINT/RUN/...
    toolkit_ref: str = TOOLKIT_REF
    toolkit_repository: str = TOOLKIT_REPOSITORY


# Answer → (starter, the input of its reusable-workflow job). Read from the first starter that
# holds it, in this order; written into each.
INPUTS: dict[str, list[tuple[str, str]]] = {
    "pipeline": [("build", "pipeline")],
    "pipeline_name": [("build", "pipeline-name")],
    "model_package_group": [("build", "model-package-group")],
    "region": [("build", "region"), ("deploy", "region"), ("monitor", "region"), ("rollback", "region")],
    "pipeline_role_arn": [("build", "pipeline-role-arn")],
    "model_role_arn": [("deploy", "model-role-arn")],
    "default_bucket": [("build", "default-bucket")],
    "staging_endpoint_name": [("deploy", "staging-endpoint-name")],
    "production_endpoint_name": [("deploy", "production-endpoint-name"), ("build", "baseline-endpoint"),
                                 ("monitor", "endpoint-name"), ("rollback", "endpoint-name")],
    "smoke_payload": [("deploy", "smoke-payload")],
    "sdk_extra": [("build", "sdk-extra")],
    "build_role_arn": [("build", "role-to-assume")],
    "staging_role_arn": [("deploy", "staging-role-to-assume")],
    "production_role_arn": [("deploy", "production-role-to-assume"), ("rollback", "role-to-assume")],
    "monitor_role_arn": [("monitor", "role-to-assume")],
    "production_capture_uri": [("deploy", "production-data-capture-uri")],
    "capture_percent": [("deploy", "data-capture-percent")],
    "violations_file": [("monitor", "violations-file")],
    "toolkit_ref": [("build", "toolkit-ref"), ("deploy", "toolkit-ref"), ("monitor", "toolkit-ref"), ("rollback", "toolkit-ref")],
}


def starter_path(root: Path, name: str) -> Path:
    return root / WORKFLOWS_DIR / f"{name}.yml"


def template(name: str) -> str:
    """The toolkit's own starter (workflows/NAME.yml), as shipped in the package."""
    return resources.files("smops").joinpath("starters", f"{name}.yml").read_text(encoding="utf-8")


def reusable_job(document: dict, name: str) -> dict | None:
    """The job of a starter that calls the reusable NAME.yml workflow."""
    for job in (document.get("jobs") or {}).values():
        if isinstance(job, dict) and re.search(rf"/\.github/workflows/{name}\.yml@", str(job.get("uses", ""))):
            return job
    return None


def known(answers: Answers) -> dict[str, object]:
    """The answers that are set, and are not the toolkit starters' made-up examples (my-model,
    account 111122223333; their ml/pipeline.py and us-east-1 are real values)."""
    examples = examples_in_starters()
    return {
        field: value
        for field, value in vars(answers).items()
        if field in INPUTS and value and not (value == getattr(examples, field) and EXAMPLE.search(str(value)))
    }


def examples_in_starters() -> Answers:
    """The example values the toolkit's starters hold (my-model, account 111122223333, ...)."""
    answers, taken = Answers(), {}
    for name in ALL_STARTERS:
        _take(answers, yaml.safe_load(template(name)), name, taken)
    return answers


def read(root: Path) -> tuple[Answers, list[str]]:
    """The answers in the project's starters, and the starters that are missing or unreadable
    (the monitor and rollback starters may be missing: init can leave them out)."""
    answers, problems, taken = Answers(), [], {}
    for name in ALL_STARTERS:
        path = starter_path(root, name)
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError:
            if name in STARTERS:
                problems.append(f"{path} does not exist")
            continue
        except yaml.YAMLError as exc:
            problems.append(f"{path} is not valid YAML ({str(exc).splitlines()[0]})")
            continue
        if not _take(answers, document, name, taken):
            problems.append(f"{path} has no job calling the reusable {name}.yml workflow")
    return answers, problems


def _take(answers: Answers, document, name: str, taken: dict[str, int]) -> bool:
    """Copy the answers of one starter's reusable job into answers, unless a starter before it in
    the field's INPUTS gave one already (`taken`: field -> the rank of the starter it came from);
    False when it has no such job."""
    job = reusable_job(document, name) if isinstance(document, dict) else None
    if job is None:
        return False
    values = job.get("with") or {}
    for field, targets in INPUTS.items():
        for rank, (starter, key) in enumerate(targets):
            if starter == name and values.get(key) is not None and rank < taken.get(field, len(targets)):
                setattr(answers, field, _typed(field, values[key]))
                taken[field] = rank
    if name == "build":
        answers.toolkit_repository = str(job["uses"]).split("/.github/", 1)[0]
    return True


def changed_inputs(text: str, name: str, answers: Answers) -> list[str]:
    """The inputs of a starter's reusable job that hold a value other than the answer's: what
    rewriting it from the answers would change (inputs it does not have are not counted)."""
    job = reusable_job(yaml.safe_load(text) or {}, name) or {}
    values = job.get("with") or {}
    return [key for field, targets in INPUTS.items() for starter, key in targets
            if starter == name and values.get(key) is not None and _typed(field, values[key]) != getattr(answers, field)]


def render(text: str, name: str, answers: Answers) -> str:
    """A starter with the answers filled in: the reusable job's inputs, and every `uses:` of the
    toolkit pointing at answers.toolkit_repository@answers.toolkit_ref."""
    values = {key: getattr(answers, field) for field, targets in INPUTS.items() for starter, key in targets if starter == name}
    return _edit(text, name, values, answers.toolkit_repository, answers.toolkit_ref)


def write_inputs(path: Path, name: str, values: dict[str, object]) -> bool:
    """Set inputs of the reusable job in the starter at path; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    edited = _edit(text, name, values)
    if edited != text:
        path.write_text(edited, encoding="utf-8")
    return edited != text


def _edit(text: str, name: str, values: dict[str, object], repository: str | None = None, ref: str | None = None) -> str:
    from ruamel.yaml import YAML

    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never fold a long line the file already has
    round_trip.indent(mapping=2, sequence=4, offset=2)
    document = round_trip.load(text)
    job = reusable_job(document, name)
    if job is None:
        raise BadInput(f"the {name} starter has no job calling the reusable {name}.yml workflow", "restore it with smops init --force")
    inputs = job.setdefault("with", {})
    for key, value in values.items():
        if inputs.get(key) != value:
            _set_input(inputs, key, value)
    if repository and ref:
        for uses_holder in uses_holders(document):
            target = str(uses_holder["uses"])
            if target.startswith(f"{TOOLKIT_REPOSITORY}/") or target.startswith(f"{TOOLKIT_REPOSITORY}@"):
                path = target.split("@", 1)[0][len(TOOLKIT_REPOSITORY):]
                uses_holder["uses"] = f"{repository}{path}@{ref}"
        if repository != TOOLKIT_REPOSITORY:
            _set_input(inputs, "toolkit-repository", repository)
    out = io.StringIO()
    round_trip.dump(document, out)
    return out.getvalue()


def _set_input(inputs, key: str, value) -> None:
    """Set one input, each comment kept with what it belongs to: the input's own end-of-line
    comment one space after its new value (not at the column of a longer value it had), and what
    follows the last input (a blank line, the comment that introduces the next job) after whichever
    input is last now."""
    last = next(reversed(inputs), None)
    if key in inputs or last is None:
        eol, rest = _comment_of(inputs, key)
        inputs[key] = _plain(value)
        _put_comment(inputs, key, eol, rest)
        return
    eol, rest = _comment_of(inputs, last)
    inputs[key] = _plain(value)
    _put_comment(inputs, last, eol, "")
    _put_comment(inputs, key, "", rest)


def _comment_of(mapping, key) -> tuple[str, str]:
    """A key's end-of-line comment, and the lines after its own up to the next key (ruamel keeps
    both in one token)."""
    token = (mapping.ca.items.get(key) or [None] * 3)[2]
    if token is None:
        return "", ""
    eol, _, rest = token.value.partition("\n")
    return eol.strip(), rest


def _put_comment(mapping, key, eol: str, rest: str) -> None:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    mapping.ca.items.pop(key, None)
    if eol or rest:  # column 0: one space after the value, whatever its length
        mapping.ca.items[key] = [None, None, CommentToken(f"{eol}\n{rest}", CommentMark(0), None), None]


def _plain(value):
    """A string written without quotes when YAML reads it back as the same string: ruamel would
    otherwise keep the quotes of the value it replaces (the '' init leaves for a role)."""
    from ruamel.yaml.scalarstring import PlainScalarString

    if isinstance(value, str) and value and yaml.safe_load(value) == value:
        return PlainScalarString(value)
    return value


def uses_holders(document):
    """Every job and step that has a `uses:`."""
    for job in (document.get("jobs") or {}).values():
        if "uses" in job:
            yield job
        for step in job.get("steps") or []:
            if "uses" in step:
                yield step


def _typed(field: str, value):
    if field == "sdk_extra":
        return value is True or str(value).lower() == "true"
    if field == "capture_percent":
        return int(value)
    return str(value)



def github_repository(root: Path) -> str:
    """OWNER/REPO of the project: GITHUB_REPOSITORY in Actions, else the git remote origin."""
    import os
    import subprocess

    if os.environ.get("GITHUB_REPOSITORY"):
        return os.environ["GITHUB_REPOSITORY"]
    try:
        url = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""
    match = re.search(r"[/:]([^/:]+/[^/]+?)(\.git)?\s*$", url)
    return match[1] if match else ""
