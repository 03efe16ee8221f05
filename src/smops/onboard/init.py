"""`smops init`: a consumer repository's starters, filled in, and what it needs to start from.

Writes the loop's four starters into `.github/workflows/` (build, deploy, monitor and rollback;
--no-monitor and --no-rollback leave one out) from the toolkit's starters with the answers filled
in, a pipeline skeleton when the pipeline file does not exist, and a smoke-test payload
placeholder. Answers come from the flags, else from the starters already there (so a second run
with no flags changes nothing, and keeps the role ARNs `smops setup-aws` wrote), else from a
question on the terminal with a default derived from the others. A rerun adds the starters that
are missing and rewrites an existing one only with --force.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from smops import aws, gha
from smops.errors import BadInput
from smops.onboard import starters

PAYLOAD_PLACEHOLDER = "REPLACE-ME"
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A pipeline that registers metrics for the build starter's gates: the SDK's model_metrics= or
# ModelMetrics, or a definition's "ModelMetrics".
METRICS = re.compile(r"model_metrics|ModelMetrics")
GATES_BLOCK = re.compile(r"^( *)gates: \|\n(?:\1  .*\n)+", re.MULTILINE)


@dataclass
class Question:
    field: str
    flag: str
    text: str


# In the order they are asked; each default may follow from the answers before it.
QUESTIONS = [
    Question("pipeline", "--pipeline", "Pipeline file (get_pipeline) or .json definition"),
    Question("pipeline_name", "--pipeline-name", "SageMaker Pipeline name (lower case)"),
    Question("model_package_group", "--model-package-group", "Model package group (lower case)"),
    Question("region", "--region", "AWS region"),
    Question("pipeline_role_arn", "--pipeline-role-arn", "IAM role the pipeline runs as (empty: smops setup-aws creates one)"),
    Question("model_role_arn", "--model-role-arn", "IAM role the deployed model runs as (empty: smops setup-aws creates one)"),
    Question("default_bucket", "--default-bucket", "S3 bucket for the pipeline's code and artifacts"),
    Question("staging_endpoint_name", "--staging-endpoint-name", "Staging endpoint name (lower case)"),
    Question("production_endpoint_name", "--production-endpoint-name", "Production endpoint name (lower case)"),
    Question("smoke_payload", "--smoke-payload", "Smoke-test request file"),
]
# Answers that may stay empty: smops setup-aws creates these roles and writes them in.
MAY_BE_EMPTY = {"pipeline_role_arn", "model_role_arn"}
DEFAULT_CAPTURE_PERCENT = 100


def run(args) -> dict[str, object]:
    root = Path(args.dir)
    if not root.is_dir():
        raise BadInput(f"--dir {root} is not a directory", "run smops init in your repository, or pass --dir PATH")
    existing, _ = starters.read(root)
    answers = ask(args, existing, interactive=sys.stdin.isatty() and not args.no_input)
    names = [n for n in starters.ALL_STARTERS if not getattr(args, f"no_{n}", False)]
    files = planned_files(root, answers, names)
    starter_files = {starters.starter_path(root, name): name for name in names}
    differing = {p: name for p, name in starter_files.items() if p.exists() and p.read_text(encoding="utf-8") != files[p]}
    changed = [p for p, name in differing.items() if _changes(p.read_text(encoding="utf-8"), files[p], name, answers)]
    if changed and not args.force:
        listed = ", ".join(str(p) for p in sorted(changed))
        raise BadInput(f"{listed} already exist{'s' if len(changed) == 1 else ''} with other content",
                       "pass --force to overwrite (your edits to them are lost), or edit them by hand")
    written, unchanged = [], []
    for path, text in files.items():
        if path.exists() and (path not in starter_files or path.read_text(encoding="utf-8") == text or not args.force):
            unchanged.append(str(path))
            gha.log(f"kept {path}" + (" (it differs from the toolkit's starter: smops init --force rewrites it)"
                                      if path in differing else ""))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
        gha.log(f"wrote {path}")
    gha.log(next_steps(answers))
    return {"written": written, "unchanged": unchanged}


def ask(args, existing: starters.Answers, interactive: bool) -> starters.Answers:
    """Flags first, then what the starters say, then a question (or the default)."""
    answers = dataclasses.replace(existing)
    known = starters.known(existing)
    name = args.name or known.get("pipeline_name") or _name_from(Path(args.dir).resolve().name)
    for question in QUESTIONS:
        value = getattr(args, question.field) or known.get(question.field)
        if not value:
            value = _default(question.field, name, answers)
            if interactive:
                value = _prompt(f"{question.text}" + (f" [{value}]" if value else "")) or value
        if not value and question.field in MAY_BE_EMPTY:
            continue
        if not value:
            raise BadInput(f"no value for {question.flag}", f"pass {question.flag} (or run smops init in a terminal to be asked)")
        check(question.field, question.flag, value)
        setattr(answers, question.field, value)
    _capture(args, answers, known)
    if args.sdk_extra is not None:
        answers.sdk_extra = args.sdk_extra
    elif "pipeline" not in known:
        answers.sdk_extra = answers.pipeline.endswith(".py")
    answers.toolkit_repository = args.toolkit_repository or existing.toolkit_repository
    answers.toolkit_ref = args.toolkit_ref or existing.toolkit_ref
    return answers


def _capture(args, answers: starters.Answers, known: dict) -> None:
    """Production captures its traffic under the artifact bucket's smops-capture/ENDPOINT, and the
    monitor writes each run's violations under smops-monitor/ENDPOINT: the two prefixes the
    monitor role may read and write. --capture-percent 0 captures nothing."""
    if args.capture_percent is not None and not 0 <= args.capture_percent <= 100:
        raise BadInput(f"--capture-percent {args.capture_percent} is not between 0 and 100", "pass e.g. --capture-percent 20")
    percent = next(p for p in (args.capture_percent, answers.capture_percent, DEFAULT_CAPTURE_PERCENT) if p is not None)
    bucket, endpoint = answers.default_bucket, answers.production_endpoint_name
    answers.capture_percent = percent
    if args.capture_percent is not None or "production_capture_uri" not in known:
        answers.production_capture_uri = f"s3://{bucket}/{starters.CAPTURE_PREFIX}/{endpoint}" if percent else ""
    if "violations_file" not in known:
        answers.violations_file = f"s3://{bucket}/{starters.VIOLATIONS_PREFIX}/{endpoint}/${{{{ github.run_id }}}}/constraint_violations.json"


def _changes(current: str, wanted: str, name: str, answers: starters.Answers) -> bool:
    """Whether rewriting an existing starter would change a value it holds (an input, or the
    toolkit it calls), rather than only add what the toolkit's starter has since gained."""
    uses = [str((starters.reusable_job(yaml.safe_load(text) or {}, name) or {}).get("uses")) for text in (current, wanted)]
    return bool(starters.changed_inputs(current, name, answers)) or uses[0] != uses[1]


def _default(field: str, name: str, answers: starters.Answers) -> str:
    account = answers.pipeline_role_arn.split(":")[4] if answers.pipeline_role_arn.count(":") >= 5 else ""
    return {
        "pipeline": "ml/pipeline.py",
        "pipeline_name": name,
        "model_package_group": name,
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
        "model_role_arn": answers.pipeline_role_arn,
        # The SageMaker Python SDK's own default bucket.
        "default_bucket": f"sagemaker-{answers.region}-{account}" if account else "",
        "staging_endpoint_name": f"{name}-staging",
        "production_endpoint_name": f"{name}-production",
        "smoke_payload": "ml/smoke-payload.csv",
    }.get(field, "")


def _name_from(directory: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", directory.lower())).strip("-") or "model"


def _prompt(text: str) -> str:
    print(f"{text}: ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def check(field: str, flag: str, value: str) -> None:
    """Refuse what would fail later: names IAM cannot match, malformed ARNs, region, bucket."""
    longest = 256 if field == "pipeline_name" else 63
    if field.endswith(("_name", "_group")) and (not starters.LOWER_CASE_NAME.match(value) or len(value) > longest):
        raise BadInput(f"{flag} {value!r} must be lower-case letters, digits and hyphens (at most {longest})",
                       f"IAM compares ARNs case-sensitively and SageMaker writes names in lower case: pass {flag} {value.lower()}")
    if field == "region":
        aws.check_region(value)
    if field.endswith("_role_arn") and not aws.ROLE_ARN.match(value):
        raise BadInput(f"{flag} {value!r} is not an IAM role ARN", "pass arn:aws:iam::ACCOUNT:role/NAME")
    if field == "default_bucket" and not BUCKET.match(value):
        raise BadInput(f"--default-bucket {value!r} is not an S3 bucket name", "use 3-63 lower-case letters, digits, dots and hyphens")


def planned_files(root: Path, answers: starters.Answers, names=starters.ALL_STARTERS) -> dict[Path, str]:
    """Every file init writes, with its content: the starters, and the pipeline skeleton and the
    payload placeholder when they do not exist yet."""
    files = {starters.starter_path(root, name): starters.render(starters.template(name), name, answers) for name in names}
    pipeline = root / answers.pipeline.split(":", 1)[0]
    if pipeline.is_file() and not METRICS.search(pipeline.read_text(encoding="utf-8", errors="replace")):
        build = starters.starter_path(root, "build")
        files[build] = _without_gates(files[build], answers.pipeline)
    if pipeline.suffix == ".py":
        skeleton = _template("pipeline.py")
        skeleton = skeleton.replace("{{pipeline_name}}", answers.pipeline_name)
        files[pipeline] = skeleton.replace("{{model_package_group}}", answers.model_package_group)
        for script in ("preprocess.py", "evaluate.py"):  # what the skeleton's processing steps run
            files[pipeline.parent / "code" / script] = _template(f"code/{script}")
    files[root / answers.smoke_payload] = _template("smoke-payload.csv")
    return files


def _without_gates(text: str, pipeline: str) -> str:
    """The build starter with its gates turned into a comment: the pipeline registers no model
    quality report for them to read, and a gate on a missing metric fails every build."""
    def comment(match: re.Match) -> str:
        indent = match.group(1)
        lines = [f"{indent}# No gates: {pipeline} registers no ModelMetrics for them to read (smops init found",
                 f"{indent}# none). Once it registers a model quality report with these metrics, uncomment:"]
        lines += [f"{indent}# {line[len(indent):]}" for line in match.group(0).splitlines()]
        return "\n".join(lines) + "\n"

    return GATES_BLOCK.sub(comment, text, count=1)


def _template(name: str) -> str:
    return resources.files("smops").joinpath("templates", name).read_text(encoding="utf-8")


def next_steps(answers: starters.Answers) -> str:
    roles = "" if answers.build_role_arn else " and writes their ARNs into the starters"
    return f"""
Next:
  1. Make {answers.pipeline} train your model, and put one real request in {answers.smoke_payload}.
  2. smops setup-aws      deploys the GitHub OIDC roles (build, deploy, monitor; the pipeline's and
                          the model's unless given) and the approval bridge to {answers.region}{roles}.
  3. In GitHub: create the environments staging and production, give production required
     reviewers and limit its deployment branches to main; put a token that may dispatch to the
     repository in the bridge's secret (setup-aws prints the command).
  4. smops doctor         checks all of it; then git add .github {answers.pipeline.split(":", 1)[0]} {answers.smoke_payload} and git push."""
