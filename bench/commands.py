"""How fast each smops process starts and does its work against instant AWS: the emulator's steps
and endpoint updates take no time, so what is measured is smops itself (process start, imports,
API calls, the first poll)."""

from __future__ import annotations

import time

from common import DEFINITION, ROLE, ROOT, clean_env, median, smops, table

PAYLOAD = ROOT / "examples" / "smoke-payload.csv"


def timed(args: list[str], env: dict, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        smops(args, env)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(runs: int) -> dict:
    from smops.emulator import Emulator, settings

    base = clean_env()
    samples = {
        "smops --help": timed(["--help"], base, 3 * runs),
        "smops deploy --help": timed(["deploy", "--help"], base, 3 * runs),
    }
    with Emulator() as emulator:
        settings.step_seconds = settings.endpoint_seconds = settings.time_scale = 0
        env = clean_env(**emulator.env(), SMOPS_POLL_SECONDS="0.05")
        build = ["build", "--pipeline", str(DEFINITION), "--pipeline-name", "bench", "--role-arn", ROLE]
        samples["smops build (JSON, 4 instant steps)"] = timed(build, env, runs)
        smops(["approve", "--model-package-group", "smops-test-models"], env)
        deploy = ["deploy", "--model-package-group", "smops-test-models", "--endpoint-name", "bench", "--role-arn", ROLE]
        samples["smops deploy (create, instant endpoint)"] = timed(deploy, env, 1)
        samples["smops deploy (re-run, unchanged)"] = timed(deploy, env, runs)
        smoke = ["smoke-test", "--endpoint-name", "bench", "--payload", str(PAYLOAD), "--count", "10"]
        samples["smops smoke-test (10 invocations)"] = timed(smoke, env, runs)
        settings.reset()
    rows = [[name, f"{median(values):.0f}", f"{min(values):.0f}"] for name, values in samples.items()]
    return {"samples_ms": samples, "table": table(["command", "median ms", "best ms"], rows)}
