"""actions/setup/install.py: the step that gives every smops action its own virtualenv."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

INSTALL = ROOT / "actions" / "setup" / "install.py"


@pytest.fixture(scope="module")
def install():
    spec = importlib.util.spec_from_file_location("smops_setup_install", INSTALL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site_packages(env_dir: Path) -> Path:
    return next(env_dir.glob("lib/python3*/site-packages"))


def test_a_real_install_gives_a_python_with_smops_and_is_reused(tmp_path):
    files = {name: tmp_path / name for name in ("output", "env", "path")}
    for path in files.values():
        path.write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"PYTHONDONTWRITEBYTECODE", "SMOPS_INSTALLER"}},
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_PATH": str(files["path"]),
    }
    first = subprocess.run([sys.executable, str(INSTALL)], env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "with uv" in first.stdout
    python = files["output"].read_text().strip().removeprefix("python=")
    assert Path(python).is_relative_to(tmp_path / "smops-venv")
    assert files["env"].read_text() == f"SMOPS_PYTHON={python}\n"
    # PATH gets a directory with only `smops` in it, never the venv's python (nor uv).
    shim = Path(files["path"].read_text().strip())
    assert sorted(p.name for p in shim.iterdir()) == ["smops"]
    version = subprocess.run([str(shim / "smops"), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("smops ")
    # Without the extras it was not asked for, and without bytecode: Python writes it on import.
    missing = subprocess.run([python, "-c", "import moto"], capture_output=True)
    assert missing.returncode != 0
    assert not list((_site_packages(tmp_path / "smops-venv") / "botocore").glob("__pycache__/*.pyc"))

    again = subprocess.run([sys.executable, str(INSTALL)], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0
    assert "already installed" in again.stdout


def test_when_uv_cannot_be_fetched_pip_installs_instead(install, tmp_path):
    # A base interpreter whose pip cannot fetch uv (here: not a python at all); the virtualenv
    # itself comes from the interpreter running install.py, as in the action.
    env_dir = tmp_path / "smops-venv"
    logged = []
    python = install.install(env_dir, [], "/bin/false", "uv", dict(os.environ), log=logged.append)
    warning = next(line for line in logged if line.startswith("::warning::"))
    assert "could not install uv" in warning and "SMOPS_INSTALLER=pip" in warning
    assert any(line.endswith("with pip") for line in logged)
    assert subprocess.run([str(python), "-m", "smops", "--version"], capture_output=True).returncode == 0


def test_uv_the_wheel_and_the_caches_live_in_the_directory_actions_cache_keeps(install, tmp_path):
    cache = tmp_path / "smops-cache"
    home, environ = install.tool_environment({"SMOPS_INSTALL_CACHE": str(cache), "HOME": "/home/x"}, tmp_path)
    assert home == cache
    assert environ == {
        "SMOPS_INSTALL_CACHE": str(cache), "HOME": "/home/x",
        "UV_CACHE_DIR": str(cache / "uv"), "PIP_CACHE_DIR": str(cache / "pip"),
    }
    # Without it (a run outside Actions), they go to the temp directory and the caches stay put.
    assert install.tool_environment({"HOME": "/home/x"}, tmp_path) == (tmp_path / "smops-tools", {"HOME": "/home/x"})


def test_the_toolkit_is_built_once_per_version_of_its_source(install, tmp_path):
    # A uv that cannot run: building would fail the test, so a wheel that is there is reused.
    uv = tmp_path / "no-uv"
    kept = tmp_path / "toolkit" / "digest-1" / "sagemaker_mlops_actions-0.1.0-py3-none-any.whl"
    kept.parent.mkdir(parents=True)
    kept.write_text("")
    assert install.toolkit_wheel(uv, tmp_path, "digest-1", dict(os.environ)) == kept
    # Another version of the source: the old wheel goes, and uv is asked to build.
    with pytest.raises(OSError):
        install.toolkit_wheel(uv, tmp_path, "digest-2", dict(os.environ))
    assert not kept.exists()


def test_a_uv_restored_from_the_cache_is_not_fetched_again(install, tmp_path):
    uv = install.executable(tmp_path / "tools", "uv")
    uv.parent.mkdir(parents=True)
    uv.write_text("#!/bin/sh\n")
    # "/bin/false" as the base interpreter: asking pip for uv would fail.
    assert install.fetch_uv(tmp_path / "tools", "/bin/false", dict(os.environ), log=pytest.fail) == uv


def test_the_installer_is_uv_unless_pip_is_asked_for(install):
    assert install.wanted_installer({}) == "uv"
    assert install.wanted_installer({"SMOPS_INSTALLER": " PIP "}) == "pip"
    with pytest.raises(SystemExit, match="SMOPS_INSTALLER='conda': use uv or pip"):
        install.wanted_installer({"SMOPS_INSTALLER": "conda"})


def test_extras_are_read_as_booleans(install):
    assert install.wanted_extras({}) == []
    assert install.wanted_extras({"INPUT_SDK_EXTRA": "true", "INPUT_EMULATOR_EXTRA": "False"}) == ["sdk"]
    assert install.wanted_extras({"INPUT_EMULATOR_EXTRA": " TRUE "}) == ["emulator"]
    with pytest.raises(SystemExit, match="INPUT_SDK_EXTRA='yes please'"):
        install.wanted_extras({"INPUT_SDK_EXTRA": "yes please"})


def _pretend_installed(install, env_dir: Path, extras: list[str], base: str) -> None:
    """A venv whose python cannot run: any attempt to install in it would fail the test."""
    python = install.executable(env_dir, "python")
    python.parent.mkdir(parents=True)
    python.write_text("not a python\n")
    stamp = {"toolkit": install.toolkit_digest(), "python": base, "installer": "uv", "extras": extras}
    (env_dir / install.STAMP).write_text(json.dumps(stamp))


def test_an_install_with_the_extras_asked_for_is_reused(install, tmp_path):
    env_dir = tmp_path / "smops-venv"
    _pretend_installed(install, env_dir, ["emulator", "sdk"], "/usr/bin/python3")
    logged = []
    assert install.install(env_dir, ["sdk"], "/usr/bin/python3", "uv", log=logged.append) == install.executable(
        env_dir, "python"
    )
    assert install.install(env_dir, [], "/usr/bin/python3", "uv", log=logged.append)
    assert all("already installed" in line for line in logged)


def test_a_missing_extra_or_another_interpreter_or_installer_means_installing(install, tmp_path):
    env_dir = tmp_path / "smops-venv"
    _pretend_installed(install, env_dir, [], "/usr/bin/python3")
    assert install.plan(env_dir, ["emulator"], "/usr/bin/python3", "uv") == (["emulator"], False)
    assert install.plan(env_dir, [], "/usr/bin/python3.12", "uv") == ([], True)
    assert install.plan(env_dir, [], "/usr/bin/python3", "pip") == ([], True)
    assert install.plan(env_dir, [], "/usr/bin/python3", "uv") == (None, False)


def test_the_digest_follows_the_dependency_file_and_the_source(install, tmp_path):
    root = tmp_path / "toolkit"
    (root / "src" / "smops").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "src" / "smops" / "cli.py").write_text("A = 1\n")
    before = install.toolkit_digest(root)
    (root / "src" / "smops" / "cli.py").write_text("A = 2\n")
    after_source = install.toolkit_digest(root)
    (root / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert len({before, after_source, install.toolkit_digest(root)}) == 3
    # Building the wheel writes the version file into the source: the same toolkit still.
    built = install.toolkit_digest(root)
    (root / install.VERSION_FILE).write_text("__version__ = '0.0.0'\n")
    assert install.toolkit_digest(root) == built


def test_the_cache_key_follows_the_installer_the_dependency_file_the_python_and_the_extras(install, tmp_path):
    root = tmp_path / "toolkit"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    runner = {"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64"}
    key, restore = install.cache_key([], "uv", runner, root)
    assert restore.startswith(f"smops-uv{install.UV_VERSION}-Linux-X64-") and restore.endswith("-base-")
    assert key.startswith(restore)
    assert install.cache_key([], "pip", runner, root)[1].startswith("smops-pip-Linux-X64-")
    sdk, sdk_restore = install.cache_key(["emulator", "sdk"], "uv", runner, root)
    assert sdk_restore.endswith("-emulator+sdk-") and sdk != key
    assert install.cache_key([], "uv", {"RUNNER_OS": "macOS", "RUNNER_ARCH": "ARM64"}, root)[0] != key
    # Another dependency file: another key, but the same restore prefix finds the old cache.
    (root / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert install.cache_key([], "uv", runner, root) != (key, restore)
    assert install.cache_key([], "uv", runner, root)[1] == restore


def test_cache_key_mode_writes_the_outputs_and_nothing_else(install, tmp_path):
    output = tmp_path / "output"
    environ = {"RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output), "INPUT_SDK_EXTRA": "true"}
    assert install.main(["--cache-key"], environ) == 0
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["key"].startswith(outputs["restore-key"]) and "-sdk-" in outputs["key"]
    assert outputs["dir"] == str(tmp_path.resolve() / "smops-cache")
    assert not (tmp_path / "smops-venv").exists()


def test_cache_key_is_empty_when_the_install_is_there_already(install, tmp_path):
    # A second smops action in the job: nothing to install, so nothing to restore.
    _pretend_installed(install, tmp_path / "smops-venv", ["sdk"], sys.executable)
    output = tmp_path / "output"
    environ = {"RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output)}
    install.main(["--cache-key"], environ)
    assert "key=\n" in output.read_text().splitlines(keepends=True)
    # Asking for an extra it lacks means installing the union: the key says so.
    output.write_text("")
    install.main(["--cache-key"], {**environ, "INPUT_EMULATOR_EXTRA": "true"})
    assert "-emulator+sdk-" in output.read_text()


def test_an_unknown_argument_is_refused(install, tmp_path):
    with pytest.raises(SystemExit, match="usage"):
        install.main(["--cach-key"], {"RUNNER_TEMP": str(tmp_path)})
