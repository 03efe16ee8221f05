"""Generate what must follow the smops command line and the focused actions exactly.

- `action.yml` (the root action): one input per flag of every command it runs, described from
  actions/<command> when that exists and from the flag's help otherwise, and the union of outputs.
- The setup steps every action starts with (Python, the installer's cache, the toolkit's virtualenv),
  from `# >>> setup steps` to the end of the `setup` step in each actions/*/action.yml: one source,
  since a composite action cannot call actions/setup from its own repository (actions/runner#1348).
- The input/output tables in README.md and docs/*.md, between markers such as
  `<!-- inputs:actions/deploy -->` … `<!-- /inputs:actions/deploy -->` (also `outputs:` and, for
  reusable workflows, `secrets:`), so the documentation cannot drift from the YAML.

Run `scripts/generate-actions` after changing a flag or an action; `--check` (used by the tests)
changes nothing and exits 1 when a file is stale.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# The commands the root action runs, and the focused action for each one that has it.
COMMANDS = ["build", "deploy", "rollback", "smoke-test", "approve", "status", "cleanup"]
FOCUSED = {"build": "actions/build", "deploy": "actions/deploy", "smoke-test": "actions/smoke-test"}
# Outputs of each command, as DESIGN.md's contract lists them (kebab-case, in GITHUB_OUTPUT).
OUTPUTS = {
    "build": ["pipeline-arn", "execution-arn", "execution-status", "model-package-arn"],
    "deploy": ["endpoint-name", "endpoint-arn", "endpoint-config-name", "model-name", "model-package-arn", "action", "plan"],
    "rollback": [
        "endpoint-name", "endpoint-arn", "endpoint-config-name", "model-name", "model-package-arn", "action",
        "rolled-back-from", "plan",
    ],
    "smoke-test": ["status-code", "latency-ms"],
    "approve": ["model-package-arn", "approval-status"],
    "status": ["endpoints", "model-packages", "pending-approval"],
    "cleanup": ["deleted-endpoint-configs", "deleted-models"],
    "drift": ["drifted", "violations", "records", "drifted-features", "violations-file", "html-report", "retrain", "pending-retraining"],
}
OUTPUT_HELP = {
    "approval-status": "Approval status the package has now (`Approved` or `Rejected`).",
    "model-package-arn": "ARN of the model package version built, deployed or approved.",
    "deleted-endpoint-configs": "Endpoint configs deleted (with `dry-run`, to be deleted), one per line.",
    "deleted-models": "Models deleted (with `dry-run`, to be deleted), one per line.",
    "rolled-back-from": "Endpoint config the endpoint served before the rollback.",
    "plan": "With `dry-run`: the plan of the deploy or rollback, as JSON; unset otherwise.",
    "endpoints": "JSON list: each endpoint, the package it serves, when and by which run and commit it was deployed.",
    "model-packages": "JSON list: each package's approval history, pipeline execution, input data and metrics.",
    "pending-approval": "JSON list of the ARNs of the packages waiting for approval.",
}
# Flags no action input maps to: --json only repeats on stdout what the step outputs carry.
NOT_INPUTS = {"json"}
# Inputs that are the action's own business rather than a flag (how smops is installed and run).
ACTION_INPUTS = {"command", "python-version", "sdk-extra", "working-directory", "github-token"}
# Action inputs that reach smops as a variable of their own rather than SMOPS_<FLAG>.
TOKEN_ENV = {"GITHUB_TOKEN": "${{ inputs.github-token }}"}
SETUP_PYTHON = "actions/setup-python@a309ff8b426b58ec0e2a45f0f869d46889d02405 # v6.2.0"
CACHE = "actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830 # v4.3.0"
# Every action that sets smops up, and the extras its install asks for (install.py's variables).
SETUP_EXTRAS = {
    "action.yml": {"INPUT_SDK_EXTRA": "${{ inputs.sdk-extra }}"},
    "actions/setup/action.yml": {
        "INPUT_SDK_EXTRA": "${{ inputs.sdk-extra }}",
        "INPUT_EMULATOR_EXTRA": "${{ inputs.emulator-extra }}",
    },
    # The build profiles the training data into each package's baseline: numpy and datasketches.
    "actions/build/action.yml": {"INPUT_SDK_EXTRA": "${{ inputs.sdk-extra }}", "INPUT_MONITOR_EXTRA": '"true"'},
    "actions/deploy/action.yml": {},  # the deploy path never installs the SDK
    "actions/smoke-test/action.yml": {},
    "actions/emulator/action.yml": {"INPUT_EMULATOR_EXTRA": '"true"'},
    "actions/drift/action.yml": {"INPUT_MONITOR_EXTRA": '"true"'},  # numpy and datasketches
}
# From the marker comment to the end of the `setup` step, the block's last line.
SETUP_BLOCK = re.compile(r'^    # >>> setup steps.*?^      run: exec "\$BASE_PYTHON" "[^"]*install\.py"\n', re.DOTALL | re.MULTILINE)


def command_flags(command: str) -> list[argparse.Action]:
    """The long-option actions of one `smops` sub-command, from the real parser."""
    sys.path.insert(0, str(ROOT / "src"))
    from smops.cli import parser

    top = parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return [
        action
        for action in sub.choices[command]._actions
        if action.option_strings and action.option_strings[-1].startswith("--")
        and action.option_strings[-1] != "--help"
    ]


def flag_name(action: argparse.Action) -> str:
    return next(s for s in action.option_strings if s.startswith("--") and not s.startswith("--no-"))[2:]


def flag_help(action: argparse.Action) -> str:
    text = re.sub(r"\s*\(env: [^)]*\)$", "", action.help or "").strip()
    text = text[0].upper() + text[1:] if text else text
    return text if text.endswith(".") else text + "."


def load_yaml(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def _folded(key: str, text: str, indent: int) -> str:
    pad = " " * indent
    body = textwrap.fill(text, width=100 - indent - 2, break_long_words=False, break_on_hyphens=False)
    return f"{pad}{key}: >-\n" + textwrap.indent(body, pad + "  ") + "\n"


def setup_steps(action_file: str) -> str:
    """The setup steps of one action: the same everywhere but for the extras and the path to
    install.py, relative to the action's own directory (GITHUB_ACTION_PATH)."""
    install = Path(os.path.relpath(ROOT / "actions/setup/install.py", (ROOT / action_file).parent)).as_posix()
    command = f'exec "$BASE_PYTHON" "$GITHUB_ACTION_PATH/{install}"'
    extras = "".join(f"        {name}: {value}\n" for name, value in SETUP_EXTRAS[action_file].items())
    return (
        "    # >>> setup steps, to the end of `setup`: written by scripts/generate-actions; edit\n"
        "    # setup_steps in scripts/gen_actions.py.\n"
        "    - id: python\n"
        f"      uses: {SETUP_PYTHON}\n"
        "      with:\n"
        "        python-version: ${{ inputs.python-version }}\n"
        "    # The installer's cache (uv's, or pip's with SMOPS_INSTALLER=pip) through actions/cache,\n"
        "    # keyed by install.py: setup-python's `cache: pip` hashes only files in the workspace, and\n"
        "    # the toolkit is not there (actions/setup-python#361).\n"
        "    - id: cache-key\n"
        "      shell: bash\n"
        "      env:\n"
        "        BASE_PYTHON: ${{ steps.python.outputs.python-path }}\n"
        f"{extras}"
        f"      run: {command} --cache-key\n"
        "    - id: cache\n"
        "      if: steps.cache-key.outputs.key != ''\n"  # empty: installed by an earlier step
        f"      uses: {CACHE}\n"
        "      with:\n"
        "        path: ${{ steps.cache-key.outputs.dir }}\n"
        "        key: ${{ steps.cache-key.outputs.key }}\n"
        "        restore-keys: ${{ steps.cache-key.outputs.restore-key }}\n"
        "    - id: setup\n"
        "      shell: bash\n"
        "      env:\n"
        "        BASE_PYTHON: ${{ steps.python.outputs.python-path }}\n"
        "        SMOPS_INSTALL_CACHE: ${{ steps.cache-key.outputs.dir }}\n"
        f"{extras}"
        f"      run: {command}\n"
    )


def with_setup_steps(action_file: str, text: str) -> str:
    """An action file with its setup block regenerated; it must have exactly one."""
    if len(SETUP_BLOCK.findall(text)) != 1:
        raise SystemExit(f"{action_file}: needs one '# >>> setup steps' block, ending with the setup step")
    return SETUP_BLOCK.sub(lambda _: setup_steps(action_file), text)


def root_action() -> str:
    """The text of the root action.yml."""
    described: dict[str, dict[str, str]] = {}  # input → command → description
    for command in COMMANDS:
        focused = load_yaml(f"{FOCUSED[command]}/action.yml")["inputs"] if command in FOCUSED else {}
        for action in command_flags(command):
            name = flag_name(action)
            if name in NOT_INPUTS:
                continue
            text = " ".join(focused[name]["description"].split()) if name in focused else flag_help(action)
            described.setdefault(name, {})[command] = text

    out = [
        "# GENERATED by scripts/generate-actions from smops.cli and actions/*/action.yml: edit those.\n",
        "# The root action runs any smops command; actions/build, actions/deploy and actions/smoke-test\n",
        "# are the focused versions, with defaults and required inputs of their own.\n",
        "name: sagemaker-mlops\n",
        _folded(
            "description",
            "Run a smops command (build, deploy, rollback, smoke-test, approve, status, cleanup): from a push to a "
            "production Amazon SageMaker endpoint. Inputs a command does not take are ignored; "
            "unset inputs take the command's defaults.",
            0,
        ),
        "author: sagemaker-mlops maintainers\n",
        "branding:\n  icon: box\n  color: orange\n\n",
        "inputs:\n",
        "  command:\n",
        _folded("description", "The smops command to run: " + ", ".join(f"`{c}`" for c in COMMANDS) + ".", 4),
        "    required: true\n",
    ]
    for name, by_command in described.items():
        commands_of: dict[str, list[str]] = {}  # one description → the commands it fits
        for command, description in by_command.items():
            commands_of.setdefault(description, []).append(command)
        if len(commands_of) == 1:
            text = f"{next(iter(commands_of))} Used by {', '.join(f'`{c}`' for c in by_command)}."
        else:
            text = " ".join(f"{', '.join(f'`{c}`' for c in cs)}: {t}" for t, cs in commands_of.items())
        out += [f"  {name}:\n", _folded("description", text, 4), "    required: false\n", '    default: ""\n']
    out += [
        "  python-version:\n",
        _folded("description", "Python smops runs on (actions/setup-python syntax). Default `3.12`.", 4),
        "    required: false\n",
        '    default: "3.12"\n',
        "  sdk-extra:\n",
        _folded(
            "description",
            "`true` installs the SageMaker Python SDK, which `build` needs for a pipeline written "
            "with it. Default `false`.",
            4,
        ),
        "    required: false\n",
        '    default: "false"\n',
        "  working-directory:\n",
        _folded("description", "Directory smops runs in. Default `.`.", 4),
        "    required: false\n",
        '    default: "."\n',
        "  github-token:\n",
        _folded("description", "Token `build`'s `pr-comment` writes with. Default the workflow's `github.token`.", 4),
        "    required: false\n",
        "    default: ${{ github.token }}\n",
        "\noutputs:\n",
    ]
    for name in dict.fromkeys(o for c in COMMANDS for o in OUTPUTS[c]):
        commands = [c for c in COMMANDS if name in OUTPUTS[c]]
        focused = [
            load_yaml(f"{FOCUSED[c]}/action.yml")["outputs"][name]["description"] for c in commands if c in FOCUSED
        ]
        text = OUTPUT_HELP.get(name) or " ".join(focused[0].split())
        text += f" Set by {', '.join(f'`{c}`' for c in commands)}."
        out += [f"  {name}:\n", _folded("description", text, 4), f"    value: ${{{{ steps.smops.outputs.{name} }}}}\n"]
    out += [
        "\nruns:\n",
        "  using: composite\n",
        "  steps:\n",
        setup_steps("action.yml"),
        "    - id: smops\n",
        "      shell: bash\n",
        "      working-directory: ${{ inputs.working-directory }}\n",
        "      env:\n",
        "        SMOPS_PYTHON: ${{ steps.setup.outputs.python }}\n",
        "        COMMAND: ${{ inputs.command }}\n",
    ]
    out += [f"        SMOPS_{n.replace('-', '_').upper()}: ${{{{ inputs.{n} }}}}\n" for n in described]
    out += [f"        {name}: {value}\n" for name, value in TOKEN_ENV.items()]
    out += [
        "      # Each command reads only its own SMOPS_* variables; the others are ignored.\n",
        '      run: exec "$SMOPS_PYTHON" -m smops "$COMMAND"\n',
    ]
    return "".join(out)


# -- documentation tables ---------------------------------------------------------------------


def _cell(value: object) -> str:
    text = " ".join(str("" if value is None else value).split())
    return text.replace("|", "\\|")


def _default(meta: dict) -> str:
    if "default" not in meta or meta["default"] in ("", None):
        return ""
    value = meta["default"]
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def _is_workflow(path: str) -> bool:
    return path.endswith((".yml", ".yaml"))


def _spec(path: str) -> dict:
    if _is_workflow(path):
        on = load_yaml(path).get(True) or load_yaml(path).get("on")  # PyYAML reads `on:` as True
        return on["workflow_call"]
    return load_yaml(f"{path}/action.yml")


def table(kind: str, path: str) -> str:
    """A Markdown table of the inputs, outputs or secrets of an action or reusable workflow."""
    items = _spec(path).get(kind) or {}
    if kind == "inputs" and _is_workflow(path):
        head = ["input", "type", "required", "default", "description"]
        rows = [
            [f"`{n}`", m.get("type", ""), "yes" if m.get("required") else "no", _default(m), m.get("description")]
            for n, m in items.items()
        ]
    elif kind == "inputs":
        head = ["input", "required", "default", "description"]
        rows = [
            [f"`{n}`", "yes" if m.get("required") else "no", _default(m), m.get("description")]
            for n, m in items.items()
        ]
    elif kind == "secrets":
        head = ["secret", "required", "description"]
        rows = [[f"`{n}`", "yes" if m.get("required") else "no", m.get("description")] for n, m in items.items()]
    else:
        head = ["output", "description"]
        rows = [[f"`{n}`", m.get("description")] for n, m in items.items()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


MARKER = re.compile(
    r"(<!-- (inputs|outputs|secrets):([^\s>]+) -->\n)(.*?)(<!-- /\2:\3 -->)", re.DOTALL
)


def render_doc(text: str) -> str:
    return MARKER.sub(lambda m: f"{m.group(1)}{table(m.group(2), m.group(3))}\n{m.group(5)}", text)


def targets() -> dict[Path, str]:
    """Every generated file with the content it should have."""
    files = {ROOT / "action.yml": root_action()}
    for action_file in SETUP_EXTRAS:
        if action_file != "action.yml":
            files[ROOT / action_file] = with_setup_steps(action_file, (ROOT / action_file).read_text())
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if doc.exists():
            files[doc] = render_doc(doc.read_text())
    return files


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for path, content in targets().items():
        current = path.read_text() if path.exists() else None
        if current != content:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(content)
    for path in stale:
        print(f"{'stale' if check else 'wrote'}: {path}", file=sys.stderr)
    if check and stale:
        print("run scripts/generate-actions and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
