"""`smops bridge package`: the approval bridge's Lambda zip."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "bridge",
        "smops.bridge.package:run",
        "build the approval bridge's Lambda package",
        "Build a zip with smops and PyGithub (with its dependencies, as manylinux x86_64 wheels)\n"
        "for the approval bridge Lambda; boto3 comes from the Lambda runtime. Needs pip and\n"
        "access to PyPI (or PIP_INDEX_URL). Outputs zip, sha256 and python-version.",
        exits={0: "built", 1: "pip could not build the package"},
    )
    p.add_argument("action", choices=["package"], help="what to do: package")
    p.flag("--out", default="dist/bridge.zip", help="where to write the zip (default dist/bridge.zip)")
    p.flag(
        "--python-version",
        choices=["3.11", "3.12", "3.13"],
        default="3.12",
        help="the Lambda runtime's Python (default 3.12, as in infra/approval-bridge.yaml)",
    )
    flags.json_flag(p)
