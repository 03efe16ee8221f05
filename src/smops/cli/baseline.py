"""`smops baseline`: a Model Monitor baseline from a CSV or Parquet dataset."""

from __future__ import annotations

import argparse

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "baseline",
        "smops.monitor.baseline:run",
        "profile a CSV or Parquet dataset into Model Monitor's statistics.json and constraints.json",
        "Stream a CSV or Parquet dataset (the training data, as the endpoint receives it) and write a\n"
        "baseline in Model Monitor's formats: statistics.json (per feature: type, counts, mean,\n"
        "std_dev, min, max, a KLL sketch and 10 buckets, or categorical counts) and constraints.json\n"
        "(completeness, non-negativity, domains, Model Monitor's default thresholds). Model Monitor\n"
        "and smops drift both read them. Outputs statistics-uri, constraints-uri, records, features.\n"
        "Needs the [monitor] extra.",
        exits={0: "written", 1: "reading the dataset or writing the baseline failed"},
    )
    p.flag("--dataset", required=True, metavar="DATA",
           help="the dataset: a CSV or Parquet file, a folder of Parquet files, or the s3:// URI of either")
    p.flag("--output", required=True, metavar="LOCATION", help="folder or s3:// prefix to write the two files to")
    p.flag(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the first row names the columns (default: detected); without one, columns are _c0, _c1, …",
    )
    p.flag(
        "--label-column",
        metavar="NAME_OR_INDEX",
        help="the label: baselined last, as the prediction (smops drift --prediction-feature NAME), "
        "so the other columns line up with the endpoint's input",
    )
    flags.engine_flags(p, "the dataset")
    flags.aws_flags(p)
