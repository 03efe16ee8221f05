"""Checks of the starters themselves: present, filled in, names IAM can match, files they name."""

from __future__ import annotations

import re

import yaml

from smops.onboard import starters
from smops.onboard.doctor import Check, Context, Problem, Skip
from smops.onboard.init import PAYLOAD_PLACEHOLDER

# The answers every starter needs, with who fills them in.
REQUIRED = {
    "pipeline": "smops init", "pipeline_name": "smops init", "model_package_group": "smops init",
    "region": "smops init", "pipeline_role_arn": "smops setup-aws", "model_role_arn": "smops setup-aws",
    "staging_endpoint_name": "smops init", "production_endpoint_name": "smops init", "smoke_payload": "smops init",
    "build_role_arn": "smops setup-aws", "staging_role_arn": "smops setup-aws", "production_role_arn": "smops setup-aws",
}


# The names IAM matches in ARNs (the roles' policies are written for them).
NAMES = ("pipeline_name", "model_package_group", "staging_endpoint_name", "production_endpoint_name")


def checks(ctx: Context) -> list[Check]:
    return [
        ("starters", filled_in),
        ("names in lower case", lower_case_names),
        ("toolkit ref in step", toolkit_ref_in_step),
        ("pipeline file", pipeline_file),
        ("smoke payload", smoke_payload),
    ]


def _inputs(field: str) -> str:
    return " and ".join(f"{key} ({starter}.yml)" for starter, key in starters.INPUTS[field])


def _documents(root) -> dict[str, dict]:
    """The starters that can be read, parsed (the starters check reports the others)."""
    documents = {}
    for name in starters.STARTERS:
        try:
            document = yaml.safe_load(starters.starter_path(root, name).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(document, dict):
            documents[name] = document
    return documents


def _given(root) -> dict[str, list[tuple[str, str]]]:
    """Each answer as each starter gives it (not merged, as starters.read does): field → [(the
    input and its starter, value)]. Empty values are the starters check's "not filled in"."""
    given: dict[str, list[tuple[str, str]]] = {field: [] for field in starters.INPUTS}
    for name, document in _documents(root).items():
        values = (starters.reusable_job(document, name) or {}).get("with") or {}
        for field, targets in starters.INPUTS.items():
            given[field] += [(f"{key} ({name}.yml)", str(values[key])) for starter, key in targets
                             if starter == name and values.get(key) not in (None, "")]
    return given


def _disagreements(given: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """The answers the starters give differently (toolkit-ref has a check of its own)."""
    return {field: values for field, values in given.items()
            if field != "toolkit_ref" and len({value for _, value in values}) > 1}


def _disagreement(field: str, values: list[tuple[str, str]]) -> tuple[str, str]:
    """What the starters say differently, plainly, and the fix: one value for both."""
    names = field in NAMES
    said = ", ".join(f"{where} is {value!r}" + (" (not a valid lower-case name)" if names and not
                     starters.LOWER_CASE_NAME.match(value) else "") for where, value in values)
    valid = {value for _, value in values if starters.LOWER_CASE_NAME.match(value)}
    flag = "--" + field.replace("_", "-")
    if names and len(valid) == 1:
        fix = f"give both the lower-case name: smops init {flag} {valid.pop()} --force"
    else:
        fix = f"give both one value: smops init {flag} VALUE --force"
    return said, fix


def name_trouble(root, fields: tuple[str, ...]) -> str:
    """Why names an ARN is built from cannot be checked against AWS ("" when they can): the
    starters disagree on one, or it is not in lower case. The checks that follow from it say
    "because of" the check that reports it, instead of failing on every ARN made from it."""
    given = _given(root)
    disagree = _disagreements(given)
    for field in fields:
        if field in disagree:
            return f"because of the starters check: the starters disagree on {_inputs(field)}"
        wrong = [value for _, value in given[field] if not starters.LOWER_CASE_NAME.match(value)]
        if wrong:
            return f"because of the names in lower case check: {_inputs(field)} {wrong[0]!r}"
    return ""


def placeholder(root) -> bool:
    """A starter still calls the toolkit as ORG/sagemaker-mlops (init without --toolkit-repository)."""
    return any(str(holder["uses"]).startswith((f"{starters.TOOLKIT_REPOSITORY}/", f"{starters.TOOLKIT_REPOSITORY}@"))
               for document in _documents(root).values() for holder in starters.uses_holders(document))


def filled_in(ctx: Context) -> str:
    if ctx.starter_problems:
        raise Problem("; ".join(ctx.starter_problems), "run smops init")
    problems, fixes = [], []
    known = starters.known(ctx.answers)
    missing = [field for field in REQUIRED if field not in known]
    if missing:
        problems.append(f"not filled in: {', '.join(_inputs(f) for f in missing)}")
        fixes.append(f"run {' then '.join(sorted({REQUIRED[f] for f in missing}, reverse=True))}")
    for field, values in _disagreements(_given(ctx.root)).items():
        said, fix = _disagreement(field, values)
        problems.append(f"the starters disagree: {said}")
        fixes.append(fix)
    if placeholder(ctx.root):
        problems.append(f"the starters call the toolkit as {starters.TOOLKIT_REPOSITORY}, a placeholder")
        fixes.append("name the toolkit's repository: smops init --toolkit-repository OWNER/sagemaker-mlops --force")
    if problems:
        raise Problem("; ".join(problems), "; ".join(fixes))
    return f"build.yml and deploy.yml call {ctx.answers.toolkit_repository}@{ctx.answers.toolkit_ref} with every value set"


def lower_case_names(ctx: Context) -> str:
    given = _given(ctx.root)
    disagree = _disagreements(given)
    mixed = {field: [f"{where} {value!r}" for where, value in given[field] if not starters.LOWER_CASE_NAME.match(value)]
             for field in NAMES}
    reported = [field for field in NAMES if mixed[field] and field in disagree]  # the starters check said it
    wrong = [said for field in NAMES if field not in reported for said in mixed[field]]
    if wrong:
        raise Problem(f"not in lower case: {', '.join(wrong)}",
                      "IAM compares ARNs case-sensitively and SageMaker writes these names in lower case: rename them in lower case")
    if reported:
        raise Skip(f"because of the starters check: the starters disagree on {', '.join(_inputs(f) for f in reported)}")
    return "pipeline, model package group and endpoint names are lower case"


def toolkit_ref_in_step(ctx: Context) -> str:
    """Every `uses:` of the toolkit and toolkit-ref name the same release."""
    wrong = []
    for name in starters.STARTERS:
        path = starters.starter_path(ctx.root, name)
        if not path.exists():
            raise Skip(f"{path} is missing (see the starters check)")
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        given = str(((starters.reusable_job(document, name) or {}).get("with") or {}).get("toolkit-ref", starters.TOOLKIT_REF))
        for holder in starters.uses_holders(document):
            target, _, at = str(holder["uses"]).rpartition("@")
            if target.startswith(ctx.answers.toolkit_repository) and at != given:
                wrong.append(f"{name}.yml uses {target}@{at} with toolkit-ref {given}")
    if wrong:
        raise Problem("; ".join(wrong), "make every @ref of the toolkit and toolkit-ref the same (smops init --toolkit-ref REF does)")
    return f"both starters call the toolkit @{ctx.answers.toolkit_ref} and check it out at it"


def pipeline_file(ctx: Context) -> str:
    spec = ctx.answers.pipeline.split(":", 1)[0]
    if not re.search(r"\.(py|json)$", spec):
        raise Skip(f"{spec} is a module, found on the Python path at build time")
    if not (ctx.root / spec).is_file():
        raise Problem(f"{spec} does not exist", f"write it, or run smops init to start from a skeleton (pipeline: {spec} in build.yml)")
    return f"{spec} exists"


def smoke_payload(ctx: Context) -> str:
    path = ctx.root / ctx.answers.smoke_payload
    if not ctx.answers.smoke_payload or not path.is_file():
        raise Problem(f"{ctx.answers.smoke_payload or 'smoke-payload'} does not exist", "put one request your model answers in it")
    if path.read_text(encoding="utf-8", errors="replace").startswith(PAYLOAD_PLACEHOLDER):
        raise Problem(f"{ctx.answers.smoke_payload} is still the placeholder smops init wrote",
                      "replace it with one request your model answers (e.g. a CSV row of features)")
    return f"{ctx.answers.smoke_payload} holds a request"
