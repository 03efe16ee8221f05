"""`smops smoke-test`: invoke an endpoint a few times and check status, content and latency."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import botocore.exceptions

from smops import aws, endpoint, gha
from smops.errors import BadInput, RemoteFailure

CONTENT_TYPES = {".csv": "text/csv", ".json": "application/json", ".jsonl": "application/jsonlines"}


def run(args) -> dict[str, str]:
    endpoint.check_name(args.endpoint_name)
    if args.count < 1:
        raise BadInput(f"--count {args.count} is less than 1", "invoke at least once")
    payload_path = Path(args.payload)
    content_type = args.content_type or CONTENT_TYPES.get(payload_path.suffix.lower(), "application/json")
    body = _payload(payload_path, content_type)
    runtime = aws.client("sagemaker-runtime", args.region, args.profile)
    request = {"EndpointName": args.endpoint_name, "Body": body, "ContentType": content_type}
    if args.accept:
        request["Accept"] = args.accept

    latencies: list[float] = []
    answer = ""
    for attempt in range(1, args.count + 1):
        started = time.perf_counter()
        try:
            response = runtime.invoke_endpoint(**request)
        except botocore.exceptions.ClientError as exc:
            if aws.is_not_found(exc):
                raise BadInput(
                    f"endpoint {args.endpoint_name} does not exist in {runtime.meta.region_name}",
                    "deploy it first, or check --endpoint-name and --region",
                ) from exc
            status = exc.response.get("OriginalStatusCode") or exc.response["ResponseMetadata"]["HTTPStatusCode"]
            raise _failed(
                args, content_type, {"status-code": str(status), "latency-ms": ""}, f"invocation {attempt} failed",
                f"invocation {attempt} answered {status}: {aws.error_message(exc)}",
                f"see the endpoint's logs in CloudWatch log group /aws/sagemaker/Endpoints/{args.endpoint_name}",
            ) from exc
        latencies.append((time.perf_counter() - started) * 1000)
        answer = response["Body"].read().decode("utf-8", errors="replace")
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        if args.expect_contains and args.expect_contains not in answer:
            raise _failed(
                args, content_type, {"status-code": str(status), "latency-ms": f"{latencies[-1]:.0f}"},
                "unexpected answer",
                f"answer {attempt} does not contain {args.expect_contains!r}: {answer[:200]!r}",
                "check the model's output format or --expect-contains",
            )
        gha.log(f"  invocation {attempt}/{args.count}: {status} in {latencies[-1]:.0f} ms")

    median = statistics.median(latencies)
    outputs = {"status-code": str(status), "latency-ms": f"{median:.0f}"}
    if args.max_latency_ms is not None and median > args.max_latency_ms:
        raise _failed(
            args, content_type, outputs, "too slow",
            f"median latency {median:.0f} ms exceeds --max-latency-ms {args.max_latency_ms:g}",
            "look at the endpoint's ModelLatency metric, or raise --max-latency-ms",
        )
    gha.log(f"smoke test passed: {args.count} invocations, median {median:.0f} ms; answer {answer[:120]!r}")
    _summarize(args, content_type, outputs, "passed", answer)
    return outputs


def _payload(path: Path, content_type: str) -> bytes:
    """The request body; a text content type needs UTF-8 text, as the model's parser will."""
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"payload file {path} not found", "check the --payload path") from None
    except OSError as exc:
        raise BadInput(f"cannot read payload file {path}: {exc.strerror}", "check the --payload path and its permissions") from None
    if content_type.startswith("text/") or content_type.split(";")[0].endswith(("json", "jsonlines")):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"payload file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}), yet is sent as {content_type}",
                "save it as UTF-8, or pass --content-type for binary data",
            ) from None
    return body


def _failed(args, content_type: str, outputs: dict, verdict: str, problem: str, fix: str) -> RemoteFailure:
    """Summarize the failed smoke test and build the error that fails the step."""
    _summarize(args, content_type, outputs, verdict)
    return RemoteFailure(f"smoke test of {args.endpoint_name} failed: {problem}", fix, outputs=outputs)


def _summarize(args, content_type: str, outputs: dict, verdict: str, answer: str = "") -> None:
    icon = "✅" if verdict == "passed" else "❌"
    rows = [
        ["Endpoint", f"`{args.endpoint_name}`"],
        ["Payload", f"`{args.payload}` ({content_type})"],
        ["Status", outputs["status-code"]],
        ["Median latency", f"{outputs['latency-ms']} ms" if outputs["latency-ms"] else "—"],
    ]
    text = f"### smops smoke-test: `{args.endpoint_name}` {icon} {verdict}\n\n" + gha.table(["", ""], rows)
    if answer:
        text += f"\n\n```\n{answer[:1000]}\n```"
    gha.add_summary(text)
