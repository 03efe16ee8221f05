"""`smops smoke-test`: invoke an endpoint and check the answer."""

from __future__ import annotations

from smops.cli import flags


def add(subparsers) -> None:
    p = flags.command(
        subparsers,
        "smoke-test",
        "smops.deploy.smoke:run",
        "invoke an endpoint and check the answer",
        "Invoke the endpoint --count times with the payload and fail (exit 1) on a non-2xx\n"
        "answer, a missing --expect-contains text, or a median latency over --max-latency-ms.",
        exits={
            0: "every answer passed",
            1: "an answer failed (status, text or latency) or AWS refused the call",
        },
    )
    p.flag("--endpoint-name", required=True, help="endpoint to invoke")
    p.flag("--payload", required=True, metavar="FILE", help="request body file")
    p.flag("--content-type", help="request Content-Type (default from the file: .csv text/csv, else application/json)")
    p.flag("--accept", help="Accept header (default: the endpoint's choice)")
    p.flag("--count", type=int, default=3, help="number of invocations (default 3)")
    p.flag("--expect-contains", metavar="TEXT", help="fail unless every answer contains TEXT")
    p.flag("--max-latency-ms", type=float, help="fail when the median latency exceeds this")
    flags.aws_flags(p)
