"""Checks of the starters themselves: present, filled in, names IAM can match, files they name."""

from __future__ import annotations

import re

import yaml

from smops import project
from smops.doctor import Check, Context, Problem, Skip
from smops.init import PAYLOAD_PLACEHOLDER

# The answers every starter needs, with who fills them in.
REQUIRED = {
    "pipeline": "smops init", "pipeline_name": "smops init", "model_package_group": "smops init",
    "region": "smops init", "pipeline_role_arn": "smops setup-aws", "model_role_arn": "smops setup-aws",
    "staging_endpoint_name": "smops init", "production_endpoint_name": "smops init", "smoke_payload": "smops init",
    "build_role_arn": "smops setup-aws", "staging_role_arn": "smops setup-aws", "production_role_arn": "smops setup-aws",
}


def checks(ctx: Context) -> list[Check]:
    return [
        ("starters", filled_in),
        ("names in lower case", lower_case_names),
        ("toolkit ref in step", toolkit_ref_in_step),
        ("pipeline file", pipeline_file),
        ("smoke payload", smoke_payload),
    ]


def _inputs(field: str) -> str:
    return " and ".join(f"{key} ({starter}.yml)" for starter, key in project.INPUTS[field])


def filled_in(ctx: Context) -> str:
    if ctx.starter_problems:
        raise Problem("; ".join(ctx.starter_problems), "run smops init")
    known = project.known(ctx.answers)
    missing = [field for field in REQUIRED if field not in known]
    if missing:
        by = sorted({REQUIRED[f] for f in missing}, reverse=True)
        raise Problem(f"not filled in: {', '.join(_inputs(f) for f in missing)}", f"run {' then '.join(by)}")
    return f"build.yml and deploy.yml call {ctx.answers.toolkit_repository}@{ctx.answers.toolkit_ref} with every value set"


def lower_case_names(ctx: Context) -> str:
    fields = ("pipeline_name", "model_package_group", "staging_endpoint_name", "production_endpoint_name")
    wrong = [f"{_inputs(f)} {getattr(ctx.answers, f)!r}" for f in fields
             if getattr(ctx.answers, f) and not project.LOWER_CASE_NAME.match(getattr(ctx.answers, f))]
    if wrong:
        raise Problem(f"not in lower case: {', '.join(wrong)}",
                      "IAM compares ARNs case-sensitively and SageMaker writes these names in lower case: rename them in lower case")
    return "pipeline, model package group and endpoint names are lower case"


def toolkit_ref_in_step(ctx: Context) -> str:
    """Every `uses:` of the toolkit and toolkit-ref name the same release."""
    wrong = []
    for name in project.STARTERS:
        path = project.starter_path(ctx.root, name)
        if not path.exists():
            raise Skip(f"{path} is missing (see the starters check)")
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        given = str(((project.reusable_job(document, name) or {}).get("with") or {}).get("toolkit-ref", project.TOOLKIT_REF))
        for holder in project.uses_holders(document):
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
