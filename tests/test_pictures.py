"""The Mermaid pictures in the job summaries: a build's step graph, a deploy's traffic shift."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from conftest import ROLE_ARN, ROOT

from smops import pipeline_graph
from smops.build import pictures
from smops.cli import main
from smops.deploy import traffic_picture
from smops.deploy.plan import Fleet, Plan
from smops.deploy.strategy import Strategy
from smops.emulator import settings

DEFINITION = json.loads((ROOT / "tests" / "data" / "pipeline-definition.json").read_text())
CLASSES = """\
  classDef succeeded fill:#dafbe1,stroke:#1a7f37,color:#0a3622
  classDef failed fill:#ffebe9,stroke:#cf222e,stroke-width:4px,color:#67060c
  classDef running fill:#fff8c5,stroke:#9a6700,color:#4d2d00
  classDef stopped fill:#eaeef2,stroke:#57606a,color:#24292f
  classDef notrun fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:4 3,color:#57606a
```"""
T0 = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_a_failed_build_marks_the_failed_step_and_what_never_ran():
    steps = [
        {"StepName": "Preprocess", "StepStatus": "Succeeded", "StartTime": T0, "EndTime": T0 + timedelta(seconds=95)},
        {"StepName": "Train", "StepStatus": "Failed", "StartTime": T0 + timedelta(seconds=95),
         "EndTime": T0 + timedelta(seconds=700), "FailureReason": 'AlgorithmError: "out of memory" <exit 137>'},
    ]
    assert pictures.build_graph(pipeline_graph.step_graph(DEFINITION), steps) == """\
```mermaid
flowchart LR
  s0["✅ Preprocess<br/>Processing · Succeeded · 1m35s"]:::succeeded
  s1["❌ Train<br/>Training · Failed · 10m05s<br/>AlgorithmError: #quot;out of memory#quot; #lt;exit 137#gt;"]:::failed
  s2{"· CheckQuality<br/>Condition · not run"}:::notrun
  s3["· Register<br/>RegisterModel · not run"]:::notrun
  s4["· TooInaccurate<br/>Fail · not run"]:::notrun
  s0 --> s1
  s1 --> s2
  s2 -.->|"if true"| s3
  s1 --> s3
  s2 -.->|"if false"| s4
""" + CLASSES


def test_the_branch_taken_is_bold_and_the_other_dotted(sagemaker, summary):
    settings.condition_outcomes["CheckQuality"] = False
    assert main(["build", "--pipeline", str(ROOT / "tests" / "data" / "pipeline-definition.json"),
                 "--pipeline-name", "churn", "--role-arn", ROLE_ARN]) == 1
    text = summary()
    assert '  s2 -.->|"true: not taken"| s3\n' in text
    assert '  s2 ==>|"✓ false: taken"| s4\n' in text
    assert '  s3["· Register<br/>RegisterModel · not run"]:::notrun\n' in text
    assert '  s4["❌ TooInaccurate<br/>Fail · Failed · 0s<br/>MSE above 6.0"]:::failed\n' in text


def plan(strategy: Strategy, old: str | None, new: str, serverless: bool = False) -> Plan:
    """A deploy's plan from `old` (None: a new endpoint) to `new`, two ml.m5.large (or serverless) each side."""
    def fleet(config):
        return Fleet(config, None, config, None, "AllTraffic", *((None, None, {"MemorySizeInMB": 2048}) if serverless
                                                                   else ("ml.m5.large", 2)))
    return Plan("deploy", "prod", "updated" if old else "created", fleet(new), fleet(old) if old else None,
                {"EndpointConfigName": old} if old else None, None, strategy, shifting=bool(old) and not serverless,
                creates_config=True)


def test_a_rolled_back_deploy_shows_the_shift_the_alarm_and_the_way_back():
    strategy = Strategy("canary", canary_size=10, wait_interval=600, alarms=("prod-5xx", "prod-p99"))
    outcome = "deployment to prod was rolled back: alarm prod-5xx: Threshold crossed"
    assert traffic_picture.traffic_shift(plan(strategy, "prod-v1-1", "prod-v2-2"), outcome, 734) == """\
```mermaid
flowchart LR
  old["prod-v1-1<br/>served 100% before"]:::stopped
  subgraph shift["blue/green canary 10% · 2 rollback alarms watched"]
    direction LR
    t0["canary: 10% of the new fleet's capacity takes traffic; bake 10m00s (watching 2 alarm(s))"]
    t1["the rest of the traffic to the new fleet (100%)"]
    t2["old fleet (2 × ml.m5.large) terminated"]
    t0 --> t1
    t1 --> t2
  end
  old --> t0
  shift -.->|"alarm prod-5xx in ALARM"| back
  back["⏪ rolled back after 12m14s<br/>prod-v1-1 serves 100%"]:::failed
  t2 -.-> new
  new["prod-v2-2<br/>not kept"]:::notrun
""" + CLASSES


def test_a_linear_update_shows_each_step_and_its_bake():
    strategy = Strategy("linear", linear_step=34, wait_interval=60, termination_wait=120)
    text = traffic_picture.traffic_shift(plan(strategy, "prod-v1-1", "prod-v2-2"), "updated", 500)
    assert '  subgraph shift["blue/green linear 34% steps · no rollback alarms"]' in text
    assert [line.strip() for line in text.splitlines() if line.strip().startswith("t") and "[" in line] == [
        't0["34% of traffic to the new fleet; bake 1m00s (no alarms to watch)"]',
        't1["68% of traffic to the new fleet; bake 1m00s (no alarms to watch)"]',
        't2["100% of traffic to the new fleet; bake 1m00s (no alarms to watch)"]',
        't3["final bake: the old fleet kept 2m00s more for a fast rollback"]',
        't4["old fleet (2 × ml.m5.large) terminated"]',
    ]
    assert '  new["prod-v2-2<br/>serves 100% after 8m20s"]:::succeeded' in text


def test_a_new_endpoint_sagemakers_default_update_and_a_serverless_one():
    created = traffic_picture.traffic_shift(plan(Strategy("all-at-once"), None, "prod-v1-1"), "created", 50)
    assert '  start(["new endpoint"]) --> new\n  new["prod-v1-1<br/>serves 100% of traffic"]:::succeeded' in created
    default = traffic_picture.traffic_shift(plan(Strategy("all-at-once"), "prod-v1-1", "prod-v2-2"), "updated", 50)
    assert '  subgraph shift["SageMaker\'s default: blue/green, all at once, no bake"]' in default
    assert '    t0["all traffic to the new fleet (2 × ml.m5.large), no bake"]' in default
    # Serverless endpoints take no traffic shifting: the picture says what the dry run says.
    serverless = traffic_picture.traffic_shift(plan(Strategy("all-at-once"), "prod-v1-1", "prod-v2-2", serverless=True),
                                        "updated", 50)
    assert '  subgraph shift["serverless: no traffic shifting"]' in serverless
    assert [line.strip() for line in serverless.splitlines() if line.strip().startswith("t") and "[" in line] == [
        't0["SageMaker moves the serverless variant to the new config; no traffic shifting, no bake"]']
