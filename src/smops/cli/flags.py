"""What every sub-command's flags share: the parser with SMOPS_* fallbacks and one-line errors,
value types, and the flag groups several commands take."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import textwrap

from smops import gha

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}
# How a conversion error from a SMOPS_* variable is worded, by the flag's type.
EXPECTED = {int: "expected a whole number", float: "expected a number"}
REQUIRED = "the following arguments are required"  # argparse's words for a missing flag
INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)")
# What every command's exit codes 2 and 130 mean; a command's --help lists them after its own.
COMMON_EXITS = {2: "bad input (nothing changed)", 130: "interrupted (Ctrl-C, or a cancelled job)"}


def env_name(flag: str) -> str:
    return "SMOPS_" + flag.lstrip("-").replace("-", "_").upper()


def env_value(flag: str) -> str | None:
    value = os.environ.get(env_name(flag), "")
    return value if value.strip() else None


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2, per the contract; a misspelled flag
    or choice is named with the nearest right one, and abbreviations are refused, so a flag added
    later cannot change what an old workflow's abbreviation meant."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.env_errors: list[str] = []

    def error(self, message: str):  # type: ignore[override]
        missing = message.partition(REQUIRED)[2].strip(": ").split(", ")
        if message.startswith(REQUIRED) and all(m.startswith("--") for m in missing):
            # An unset workflow input arrives as an empty SMOPS_* variable: name both ways to give it.
            message += f": pass {'them' if len(missing) > 1 else 'it'}, or set {', '.join(env_name(m) for m in missing)}"
        choice = INVALID_CHOICE.search(message)
        if choice:
            message += _did_you_mean(choice["given"], re.findall(r"'([^']*)'", choice["choices"]), quote="'")
        gha.error(f"{message}: see `{self.prog} --help`")
        sys.exit(2)

    def parse_known_args(self, args=None, namespace=None):
        # Reported only now, so a bad variable breaks the command that reads it, not --help.
        if self.env_errors:
            self.error(self.env_errors[0])
        given = sys.argv[1:] if args is None else list(args)
        if self._subparsers is not None:  # smops itself: its own flags come before the command's
            command = next((i for i, word in enumerate(given) if not word.startswith("-")), len(given))
            self._refuse_unknown_flags(given[:command])
            return super().parse_known_args(given, namespace)
        self._refuse_unknown_flags(given)  # before argparse names a required flag the typo stood for
        namespace, extras = super().parse_known_args(given, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def _refuse_unknown_flags(self, given: list[str]) -> None:
        """The first --flag this command does not have, with the one it most likely meant."""
        options = given[: given.index("--")] if "--" in given else given
        for token in options:
            flag = token.partition("=")[0]
            # argparse takes a word with a space in it as a value, whatever it starts with.
            if flag.startswith("--") and " " not in flag and flag not in self._option_string_actions:
                known = [o for o in self._option_string_actions if o.startswith("--")]
                self.error(f"unknown flag {flag}{_did_you_mean(flag, known)}")

    def flag(self, *names: str, **kwargs) -> argparse.Action:
        """add_argument with the SMOPS_* environment fallback and `(env: …)` in the help."""
        long_name = next(n for n in names if n.startswith("--"))
        raw = env_value(long_name)
        if raw is not None:
            try:
                kwargs["default"] = _from_env(raw, kwargs)
            except (ValueError, argparse.ArgumentTypeError) as exc:
                self.env_errors.append(f"{env_name(long_name)}={raw!r} is invalid ({exc})")
            kwargs.pop("required", None)
        if kwargs.get("action") == "append":
            kwargs.setdefault("default", [])
            kwargs["action"] = _AppendReplacingDefault
        help_text = kwargs.get("help", "")
        if help_text != argparse.SUPPRESS:
            kwargs["help"] = f"{help_text} (env: {env_name(long_name)})"
        return self.add_argument(*names, **kwargs)


def _did_you_mean(given: str, known: list[str], quote: str = "") -> str:
    close = difflib.get_close_matches(given, known, n=1)
    return f" (did you mean {quote}{close[0]}{quote}?)" if close else ""


class _AppendReplacingDefault(argparse._AppendAction):
    """A repeatable flag given on the command line replaces its SMOPS_* list, like any flag."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is self.default:
            setattr(namespace, self.dest, [])
        super().__call__(parser, namespace, values, option_string)


def _from_env(raw: str, kwargs: dict):
    """Convert a SMOPS_* value as argparse would convert the flag; lists are one per line."""
    action = kwargs.get("action")
    if action in ("store_true", argparse.BooleanOptionalAction):
        word = raw.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise ValueError("use true or false")
        return word in TRUE_WORDS
    convert = kwargs.get("type", str)
    if action == "append":
        return [convert(line.strip()) for line in raw.splitlines() if line.strip()]
    try:
        value = convert(raw.strip())
    except ValueError:
        if convert not in EXPECTED:
            raise
        raise ValueError(EXPECTED[convert]) from None
    if kwargs.get("choices") and value not in kwargs["choices"]:
        raise ValueError(f"choose from {', '.join(map(str, kwargs['choices']))}")
    return value


def key_value(text: str) -> tuple[str, str]:
    """NAME=VALUE, as given to --parameter and --tag."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def gate(text: str):
    """A --gate value, checked when the flag is read (the gate itself lives in smops.metrics)."""
    from smops.build.gates import Gate

    try:
        return Gate.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 minutes, got {text}")
    return value


def json_flag(parser: Parser, help_text: str = "also print the outputs as one JSON object on stdout") -> None:
    parser.flag("--json", action="store_true", help=help_text)


def aws_flags(parser: Parser, **json_help: str) -> None:
    parser.flag("--region", help="AWS region; defaults to AWS_REGION or the profile's region")
    parser.flag("--profile", help="named AWS profile; defaults to AWS_PROFILE or the default chain")
    json_flag(parser, **json_help)


def command(subparsers, name: str, target: str, help_text: str, description: str, exits: dict[int, str]) -> Parser:
    """A sub-command whose --help ends with its exit codes: `exits` says what 0, 1 (and 3) mean
    for it; 2 and 130 mean the same for every command."""
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=f"{description}\n\n{exit_codes(exits)}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(target=target)
    return parser


def exit_codes(exits: dict[int, str]) -> str:
    codes = {**COMMON_EXITS, **exits}
    return textwrap.fill("exit codes: " + ", ".join(f"{code} {codes[code]}" for code in sorted(codes)), width=92)


def model_package_flags(p: Parser, group_help: str) -> None:
    p.flag("--model-package-arn", help="the model package (version) ARN")
    p.flag("--model-package-group", help=group_help)


def rollout_flags(p: Parser) -> None:
    """How an update moves traffic and what rolls it back: deploy's and rollback's."""
    p.flag(
        "--strategy",
        choices=["all-at-once", "canary", "linear", "rolling"],
        default="all-at-once",
        help="how an existing endpoint moves to the new config: blue/green all-at-once (default), "
        "canary or linear traffic shifting, or a rolling update",
    )
    p.flag("--canary-size", type=int, default=10, help="canary: percent of capacity first (default 10)")
    p.flag("--linear-step", type=int, default=20, help="linear: percent shifted per step (default 20)")
    p.flag("--batch-size", type=int, default=25, help="rolling: percent per batch (default 25)")
    p.flag(
        "--wait-interval",
        type=int,
        help="seconds to bake after each traffic shift (0-3600, default 300); an all-at-once update "
        "without alarms, wait or timeout uses SageMaker's default (no bake)",
    )
    p.flag(
        "--termination-wait",
        type=int,
        default=0,
        help="seconds to keep the old fleet after all traffic moved (0-3600, default 0)",
    )
    p.flag(
        "--max-execution-timeout",
        type=int,
        help="seconds before SageMaker abandons the deployment (600-28800; SageMaker's default if unset)",
    )
    p.flag(
        "--alarm",
        action="append",
        metavar="NAME",
        help="CloudWatch alarm that rolls the deployment back, repeatable (1-10)",
    )
    p.flag(
        "--create-alarms",
        action="store_true",
        help="create or update a 5XX-errors and a p99-latency alarm on the variant and roll back on them",
    )
    p.flag(
        "--latency-threshold-ms",
        type=int,
        default=1000,
        help="p99 model latency that trips the --create-alarms latency alarm (default 1000)",
    )


def wait_flags(p: Parser, what: str) -> None:
    p.flag(
        "--wait-if-busy",
        action="store_true",
        help="wait for another update in progress (or one that begins first) to end, then decide "
        "again, instead of refusing (exit 2)",
    )
    p.flag(
        "--timeout",
        type=positive_minutes,
        default=60.0,
        metavar="MINUTES",
        help=f"how long to wait for {what} (default 60)",
    )


def dry_run_flag(p: Parser, help_text: str) -> None:
    p.flag("--dry-run", action="store_true", help=help_text)


def fail_step_flag(parser: Parser) -> None:
    parser.flag(
        "--fail-step",
        action="append",
        type=key_value,
        metavar="STEP=REASON",
        help="make the named pipeline step fail with REASON (to see a failure reported), repeatable",
    )


def onboarding_flags(parser: Parser) -> None:
    """Where smops setup-aws puts the stacks and doctor looks for them, and the GitHub names the
    roles trust: shared by setup-aws and doctor."""
    parser.flag("--dir", default=".", help="the repository whose starters to read (default: the current directory)")
    parser.flag("--repository", metavar="OWNER/REPO", help="the GitHub repository (default GITHUB_REPOSITORY, else the git remote origin)")
    parser.flag("--oidc-stack", default="smops-github-oidc", help="stack of infra/github-oidc.yaml (default smops-github-oidc)")
    parser.flag("--bridge-stack", default="smops-approval-bridge", help="stack of infra/approval-bridge.yaml (default smops-approval-bridge)")
    parser.flag("--main-branch", default="main", help="branch whose pushes build, the build role trusts (default main)")
    parser.flag("--staging-environment", default="staging", help="GitHub environment of the staging deploy (default staging)")
    parser.flag("--production-environment", default="production", help="GitHub environment of the production deploy (default production)")


def engine_flags(p: Parser, what: str) -> None:
    """Where the profiling runs: here, or a SageMaker Processing job (smops.monitor.processing)."""
    p.flag(
        "--engine",
        choices=["local", "processing", "auto"],
        default="local",
        help=f"where {what} is profiled: local (this runner, default), processing (a SageMaker Processing "
        "job, sharded across --instance-count instances) or auto (processing above the record count "
        "bench/README.md justifies, when --processing-role-arn is given)",
    )
    p.flag("--instance-count", type=int, default=2, metavar="N", help="processing: instances (default 2)")
    p.flag("--instance-type", default="ml.m5.xlarge", help="processing: instance type (default ml.m5.xlarge)")
    p.flag("--processing-role-arn", metavar="ARN",
           help="processing: the role the job runs as (infra/github-oidc.yaml's ProcessingRoleArn)")
    p.flag("--processing-uri", metavar="S3_URI",
           help="processing: s3:// prefix for the job's code, manifest and partial results (default "
           "s3://BUCKET/smops-processing in the input's bucket)")
    p.flag("--timeout", type=positive_minutes, default=60.0, metavar="MINUTES",
           help="processing: how long to wait for the job before stopping it (default 60)")
    dry_run_flag(p, "print what would run (with processing, its instance-hours) and stop")
