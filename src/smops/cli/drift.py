"""`smops drift`: an endpoint's captured traffic against its baseline."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "drift",
        "smops.monitor.drift:run",
        "compare an endpoint's captured traffic with its baseline (Model Monitor's checks)",
        "Read the endpoint's data capture (SageMaker's S3 layout and JSON Lines records) for a time\n"
        "window, streaming, and run Model Monitor's checks against a baseline in its statistics.json /\n"
        "constraints.json format: distribution distance per numeric feature, completeness, data type,\n"
        "non-negativity, unseen categories, missing/extra columns. Prints a table per feature, writes\n"
        "the violations in constraint_violations.json's shape (and, with --html-report, the\n"
        "distributions drawn in an HTML page), and outputs drifted, violations, records and\n"
        "drifted-features; and retrain: true when drifted and no package a drift retrained still\n"
        "waits for approval (pending-retraining names it). Needs the [monitor] extra (numpy,\n"
        "datasketches).\n\n"
        "The baseline: --baseline, else the data quality baseline of --model-package-arn or of the\n"
        "package the endpoint serves (DriftCheckBaselines, else ModelMetrics, else the one smops\n"
        "build recorded in its metadata).\n"
        "With --monitoring-schedule, reads that Model Monitor schedule's latest finished execution\n"
        "instead of computing.",
        exits={
            0: "checked (drift or not)",
            1: "drift with --fail-on-drift",
            2: "bad input (no capture in the window, no baseline, ...)",
        },
    )
    p.flag("--endpoint-name", help="the endpoint whose traffic is checked")
    p.flag(
        "--data-capture-uri",
        help="s3:// destination of the endpoint's data capture; unset, its DataCaptureConfig's",
    )
    p.flag("--variant-name", help="read only this production variant's capture; unset, every variant's")
    p.flag("--since", metavar="DURATION", help="window ending now (or at --end): 30m, 24h, 7d (default 24h)")
    p.flag("--start", metavar="TIME", help="window start, ISO-8601 (instead of --since)")
    p.flag("--end", metavar="TIME", help="window end, ISO-8601 (default now)")
    p.flag(
        "--max-records",
        type=int,
        metavar="N",
        help="sample: read capture files in random order until N records (default all)",
    )
    p.flag(
        "--baseline",
        metavar="LOCATION",
        help="folder or s3:// prefix holding statistics.json and constraints.json, or the "
        "statistics.json itself",
    )
    p.flag("--model-package-arn", help="take the baseline this model package registered")
    p.flag(
        "--prediction-feature",
        metavar="NAME",
        help="the baseline feature the endpoint's output is compared with (default: inputs only)",
    )
    p.flag(
        "--violations-file",
        default="constraint_violations.json",
        metavar="PATH",
        help="where to write the violations, a path or s3:// URI (default constraint_violations.json)",
    )
    p.flag(
        "--html-report",
        metavar="PATH",
        help="also write a self-contained HTML report (each drifted feature's baseline and captured "
        "distributions drawn, the categorical values that appeared or vanished), a path or s3:// URI",
    )
    p.flag("--fail-on-drift", action="store_true", help="exit 1 when a feature drifted")
    p.flag(
        "--monitoring-schedule",
        metavar="NAME",
        help="report this Model Monitor schedule's latest finished execution instead of computing",
    )
    flags.engine_flags(p, "the capture")
    flags.aws_flags(p)
