"""The documents hold together: every command in the CLI reference, tables of contents and links
that lead somewhere, a first screen that starts a user off, exit codes as `--help` lists them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT
from test_cli_mistakes import subcommands

from smops.cli import flags

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "infra" / "README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FIRST_SCREEN = 40  # lines
# `smops COMMAND ...` in a document, continuation lines joined; and the flags on it.
COMMAND_LINE = re.compile(r"(?:^|[\s`$(])smops ([a-z-]+)((?: +[^\s`|;&)]+)*)", flags=re.M)
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z-]*[a-z])(?![\w*-])")
MISSPELLED_ON_PURPOSE = {("deploy", "--dryrun")}  # the README's example of what a misspelled flag gets


def headings(path: Path) -> set[str]:
    """GitHub's anchors for the file's headings (outside code blocks)."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_to_a_file_and_heading_that_exist(path):
    broken = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in headings(linked):
            broken.append(target)
    assert not broken, f"{path.name}: {broken}"


def test_the_cli_reference_lists_every_command():
    table = (ROOT / "docs" / "cli.md").read_text()
    missing = [name for name in subcommands() if not re.search(rf"^\| `smops {name}[` ]", table, flags=re.M)]
    assert not missing


def test_the_readme_first_screen_starts_a_user_off():
    first = "\n".join((ROOT / "README.md").read_text().splitlines()[:FIRST_SCREEN])
    for needed in ("uses: ORG/sagemaker-mlops/.github/workflows/build.yml@v1", "smops init", "smops setup-aws", "git push"):
        assert needed in first


def test_the_readme_warns_that_pypi_sagemaker_mlops_is_another_package():
    readme = (ROOT / "README.md").read_text()
    assert "Do not `pip install sagemaker-mlops`" in readme and "SageMaker Python SDK v3" in readme


def test_the_documented_exit_codes_are_the_ones_help_lists():
    documented = " ".join((ROOT / "docs" / "cli.md").read_text().split())
    for code in (0, 1, 2, 3, *flags.COMMON_EXITS):
        assert f"`{code}` " in documented


def test_every_flag_the_documents_show_is_a_flag_of_that_command():
    """Spelled out in full: abbreviations are refused, so an example with one would fail."""
    commands = subcommands()
    unknown = []
    for path in [*DOCUMENTS, ROOT / "examples" / "README.md", ROOT / "bench" / "README.md"]:
        for command, rest in COMMAND_LINE.findall(path.read_text().replace("\\\n", " ")):
            if command in commands:
                unknown += [(path.name, command, flag) for flag in FLAG.findall(rest)
                            if flag not in commands[command]._option_string_actions
                            and (command, flag) not in MISSPELLED_ON_PURPOSE]
    assert not unknown
