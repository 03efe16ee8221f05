"""`smops demo`: the whole lifecycle on the emulator."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "demo",
        "smops.demo:run",
        "run the whole lifecycle on the embedded emulator",
        "Start the embedded emulator and a GitHub API stand-in, then take the example project\n"
        "through build, approval, the approval bridge, staging, smoke test, a production canary,\n"
        "a second version whose canary trips an alarm and rolls back, cleanup, and drift in\n"
        "production traffic that starts a retraining build: each phase a\n"
        "real smops process. Exits 0 only when every phase did what the lifecycle needs.",
        exits={0: "every phase did what the lifecycle needs", 1: "a phase failed (the report says which)"},
    )
    p.flag("--report", default="smops-demo-report.md", help="where to write the Markdown report (default smops-demo-report.md)")
    flags.fail_step_flag(p)
    p.flag("--verbose", action="store_true", help="show every command's own log")
