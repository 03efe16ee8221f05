"""`smops build` renders a pipeline once per definition: a render is reused while the files,
environment variables and arguments it read are unchanged, and never when it reached outside."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from conftest import ROLE_ARN, ROOT

from smops.cli import main

DEFINITION = json.loads((ROOT / "tests" / "data" / "pipeline-definition.json").read_text())
PIPELINE = """
    import json, os, pathlib

    HERE = pathlib.Path(__file__).parent

    def get_pipeline(region, role, default_bucket=None):
        with open(HERE / "renders.log", "a") as log:  # written, so not something the render reads
            log.write("rendered\\n")
        {extra}
        definition = json.loads((HERE / "definition.json").read_text())
        settings = json.loads((HERE / "settings.json").read_text())
        definition["Parameters"][1]["DefaultValue"] = settings["threshold"]
        definition["Metadata"] = {{"image": os.environ.get("TRAINING_IMAGE", "none"), "bucket": default_bucket}}
        return definition
"""


@pytest.fixture
def project(tmp_path, monkeypatch, aws_env):
    root = tmp_path / "project"
    root.mkdir()
    (root / "definition.json").write_text(json.dumps(DEFINITION))
    (root / "settings.json").write_text(json.dumps({"threshold": 0.7}))
    monkeypatch.chdir(root)
    return root


def write_pipeline(root: Path, extra: str = "") -> Path:
    path = root / "pipeline.py"
    path.write_text(textwrap.dedent(PIPELINE.format(extra=extra)))
    return path


def build(*extra: str) -> int:
    args = ["build", "--pipeline", "pipeline.py", "--pipeline-name", "cached", "--role-arn", ROLE_ARN]
    return main([*args, "--default-bucket", "bkt", "--no-wait", *extra])


def renders(root: Path) -> int:
    return len((root / "renders.log").read_text().splitlines())


def test_a_render_is_reused_until_what_it_read_changes(project, monkeypatch, capsys):
    write_pipeline(project)
    assert build() == 0 and renders(project) == 1
    assert build() == 0 and renders(project) == 1
    err = capsys.readouterr().err
    assert "reusing the definition rendered before" in err and "pipeline cached: unchanged" in err

    # A file the pipeline reads.
    (project / "settings.json").write_text(json.dumps({"threshold": 0.8}))
    assert build() == 0 and renders(project) == 2
    assert "pipeline cached: updated" in capsys.readouterr().err
    # An environment variable it looks up.
    monkeypatch.setenv("TRAINING_IMAGE", "xgboost:1.7-1")
    assert build() == 0 and renders(project) == 3
    assert build() == 0 and renders(project) == 3
    # Its own code, and an argument smops passes.
    write_pipeline(project, extra="pass")
    assert build() == 0 and renders(project) == 4
    assert build("--default-bucket", "other") == 0 and renders(project) == 5
    # Unless told not to.
    assert build("--no-render-cache") == 0 and renders(project) == 6


def test_a_render_that_reached_outside_is_not_kept(project, aws_env):
    # A render that asks AWS something: what it got cannot be checked later.
    write_pipeline(project, extra="import boto3; boto3.client('sagemaker').list_pipelines()")
    assert build() == 0 and build() == 0
    assert renders(project) == 2


def test_a_render_that_ran_a_process_is_not_kept(project):
    write_pipeline(project, extra="import subprocess, sys; subprocess.run([sys.executable, '-c', 'pass'])")
    assert build() == 0 and build() == 0
    assert renders(project) == 2


def test_the_cache_holds_hashes_of_variables_never_their_values(project, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "not-a-real-token-123")
    write_pipeline(project, extra="os.environ.get('API_TOKEN')")
    assert build() == 0
    (entry,) = (Path(os.environ["XDG_CACHE_HOME"]) / "smops" / "renders").glob("*.json")
    record = json.loads(entry.read_text())
    assert "API_TOKEN" in record["variables"] and "not-a-real-token-123" not in entry.read_text()
    assert str(project / "settings.json") in record["files"]


def test_json_definitions_are_read_not_cached(aws_env, tmp_path):
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(DEFINITION))
    args = ["build", "--pipeline", str(path), "--pipeline-name", "plain", "--role-arn", ROLE_ARN, "--no-wait"]
    assert main(args) == 0
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "smops").exists()
