"""`smops build` of 50 pipelines, then again with nothing changed: the API calls of each pass,
counted from the emulator's request log (moto's recorder), by operation.

Each build is a `smops` process, as in a workflow, and runs to the end (upsert, start, wait,
summary) against instant steps. What the bar is about is the upsert: on the second pass it must
read each pipeline once and write nothing. Starting an execution is what a build is for, so
StartPipelineExecution is counted apart, as are the wait's reads and the summary's.
"""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from common import DEFINITION, RECORDING, ROLE, clean_env, smops, table

PIPELINES = 50
PARALLEL = 2
# Which part of a build each SageMaker operation belongs to.
PARTS = {
    "DescribePipeline": "upsert reads",
    "ListTags": "upsert reads",
    "CreatePipeline": "upsert writes",
    "UpdatePipeline": "upsert writes",
    "AddTags": "upsert writes",
    "StartPipelineExecution": "start (the build's purpose)",
    "DescribePipelineExecution": "wait reads",
    "ListPipelineExecutionSteps": "wait reads",
}
ORDER = ["upsert reads", "upsert writes", "start (the build's purpose)", "wait reads", "summary reads", "other writes"]


def recorder(emulator, action: str) -> bytes:
    request = urllib.request.Request(f"{emulator.url}/moto-api/recorder/{action}", method="POST" if action != "download-recording" else "GET")
    with urllib.request.urlopen(request) as response:
        return response.read()


def operations(log: bytes) -> list[str]:
    """The operation of every recorded request: the JSON protocol names it in X-Amz-Target; a REST
    request (S3) is named by its service (from the signature's scope) and HTTP method."""
    found = []
    for line in log.decode().splitlines():
        request = json.loads(line)
        headers = {k.lower(): v for k, v in request["headers"].items()}
        target = headers.get("x-amz-target", "")
        if "." in target:
            found.append(target.split(".", 1)[1])
        else:
            scope = headers.get("authorization", "").split("Credential=", 1)[-1].split(",")[0].split("/")
            found.append(f"{scope[3] if len(scope) > 3 else 'unknown'} {request['method']}")
    return found


def part(operation: str) -> str:
    if operation in PARTS:
        return PARTS[operation]
    reads = ("Describe", "List", "Get", "Head")
    return "summary reads" if operation.startswith(reads) or operation.endswith((" GET", " HEAD")) else "other writes"


def one_pass(emulator, env) -> list[str]:
    recorder(emulator, "reset-recording")
    recorder(emulator, "start-recording")
    build = ["build", "--pipeline", str(DEFINITION), "--role-arn", ROLE]
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(lambda n: smops([*build, "--pipeline-name", f"bench-{n:03d}"], env), range(PIPELINES)))
    recorder(emulator, "stop-recording")
    return operations(recorder(emulator, "download-recording"))


def run(runs: int) -> dict:
    from smops.emulator import Emulator, settings

    passes = {}
    with Emulator() as emulator:
        settings.step_seconds = 0
        env = clean_env(**emulator.env(), SMOPS_POLL_SECONDS="0.05")
        for name in ("first run", "re-run, unchanged"):
            passes[name] = one_pass(emulator, env)
        settings.reset()
    RECORDING.unlink(missing_ok=True)
    counts = {name: {p: sum(part(op) == p for op in ops) for p in ORDER} for name, ops in passes.items()}
    by_operation = {name: {op: ops.count(op) for op in sorted(set(ops))} for name, ops in passes.items()}
    rows = [
        [p, *(f"{counts[name][p]} ({counts[name][p] / PIPELINES:g} per pipeline)" for name in passes)] for p in ORDER
    ]
    head = [f"calls for {PIPELINES} pipelines", *passes]
    return {"counts": counts, "by_operation": by_operation, "table": table(head, rows)}
