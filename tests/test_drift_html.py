"""`smops drift --html-report`: the page is self-contained, and a real browser draws what it says.

The browser is headless Chromium from npm (@sparticuz/chromium, driven by puppeteer-core), which
scripts/install-browser puts into .tools/ at pinned versions; tests/browser/render_report.mjs loads
the report, refuses any request but the page's own, and reports each figure's rendered boxes. The
screenshot is kept in test-artifacts/ (ignored by git).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from smops.monitor import baseline, capture, drift, drift_html

ARTIFACTS = ROOT / "test-artifacts"
NOW = dt.datetime(2026, 12, 6, 4, 0, tzinfo=dt.timezone.utc)
NAMES = ["age", "income", "tenure_months", "plan", "support_calls"]
PLANS = ["basic", "plus", "family", "student", "enterprise"]


def rows(n: int, shifted: bool, seed: int) -> list[list[str]]:
    """Customers: age and income move right when shifted, the plan `student` gives way to
    `enterprise`; tenure and support calls stay as they were."""
    rng = np.random.default_rng(seed)
    age = rng.normal(48 if shifted else 40, 10, n)
    income = rng.lognormal(10.8 if shifted else 10.5, 0.4, n)
    tenure = rng.integers(1, 73, n)
    shares = [0.4, 0.25, 0.15, 0.0, 0.2] if shifted else [0.45, 0.25, 0.2, 0.1, 0.0]
    plan = rng.choice(PLANS, n, p=shares)
    calls = rng.integers(0, 6, n)
    return [[f"{a:.1f}", f"{i:.0f}", str(t), p, str(c)] for a, i, t, p, c in zip(age, income, tenure, plan, calls)]


def report(shifted: bool = True) -> drift.Report:
    """What `smops drift` finds in a day's capture (1,000 invocations of 3 rows) against a baseline
    `smops baseline` computed from 5,000 training rows."""
    base = baseline.compute(iter(rows(5000, False, seed=1)), NAMES)
    captured = rows(3000, shifted, seed=2)
    records = []
    for start in range(0, len(captured), 3):
        payload = "\n".join(",".join(row) for row in captured[start:start + 3]).encode()
        records.append(capture.parse(json.dumps(capture.record(NOW, (payload, "text/csv"), None,
                                                               {"CsvContentTypes": ["text/csv"]}))))
    found = drift.compare(base, records, None)
    found.window, found.baseline = (NOW - dt.timedelta(hours=24), NOW), "s3://churn-ml/baseline"
    return found


class _Page(HTMLParser):
    """Every tag and attribute of a page."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_the_page_loads_nothing_from_anywhere():
    page = parsed(drift_html.render("churn-production", report()))
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not [(tag, a) for tag, attrs in page.tags for a in attrs if a in {"src", "href", "xlink:href"}]
    policy = next(attrs["content"] for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy")
    assert policy.startswith("default-src 'none';")


def test_clean_traffic_draws_no_figure_and_says_so():
    found = report(shifted=False)
    assert found.drifted == []
    page = drift_html.render("churn-production", found)
    assert '<p class="verdict ok">No drift</p>' in page and 'class="feature"' not in page
    assert "No feature drifted and no categorical value appeared or vanished." in page


def test_a_model_monitor_verdict_has_a_header_and_its_violations():
    violation = {"feature_name": "tenure", "constraint_check_type": "baseline_drift_check",
                 "description": "Baseline drift distance: 0.3 exceeds threshold: 0.1"}
    found = drift.Report("Model Monitor schedule `churn-dq`, execution scheduled 2026-12-06", 1200, [], [violation])
    page = drift_html.render("churn-production", found)
    assert "Drift in 1 feature: tenure" in page and "Model Monitor schedule churn-dq" in page
    assert "Baseline drift distance: 0.3 exceeds threshold: 0.1" in page


# -- in a real browser -----------------------------------------------------------------------------


def browser() -> Path:
    """The folder scripts/install-browser installed the browser into; skips when npm is missing."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm is not installed (apt-get install npm): no headless Chromium to render the report in")
    installed = subprocess.run([str(ROOT / "scripts" / "install-browser")], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    return Path(installed.stdout.strip())


def render(page: Path, screenshot: Path) -> dict:
    tools = browser()
    unpacked = tools / "tmp"  # @sparticuz/chromium unpacks Chromium under TMPDIR: once, here
    unpacked.mkdir(exist_ok=True)
    done = subprocess.run(["node", str(ROOT / "tests" / "browser" / "render_report.mjs"), str(tools), str(page),
                           str(screenshot)], capture_output=True, text=True, env={**os.environ, "TMPDIR": str(unpacked)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_browser_draws_each_drifted_feature_with_its_labels(tmp_path):
    found = report()
    assert found.drifted == ["age", "income"]
    page = tmp_path / "drift-report.html"
    page.write_text(drift_html.render("churn-production", found))
    screenshot = tmp_path / "drift-report.png"
    seen = render(page, screenshot)
    ARTIFACTS.mkdir(exist_ok=True)  # kept before any check, to look at when one fails
    for path in (page, screenshot):
        shutil.copy(path, ARTIFACTS / path.name)

    # Nothing but the page itself was asked for, and nothing went wrong on it (CSP included).
    assert seen["requests"] == [page.as_uri()]
    assert seen["errors"] == []
    assert seen["title"] == "smops drift: churn-production"
    header = seen["header"]
    assert "churn-production" in header and "Drift in 2 of 5 features: age, income" in header
    assert "2026-12-05 04:00 → 2026-12-06 04:00 UTC (1 d)" in header and "Records\n1,000" in header

    figures = {figure["feature"]: figure for figure in seen["figures"]}
    numeric = [f for f in seen["figures"] if f["kind"] == "numeric"]
    assert sorted(f["feature"] for f in numeric) == found.drifted
    for feature in (f for f in found.features if f.drifted):
        figure = figures[feature.name]
        assert figure["box"]["width"] > 0 and figure["box"]["height"] > 0
        assert figure["drawn"]["width"] > 0 and figure["drawn"]["height"] > 0
        assert figure["marks"] > drift_html.BINS  # the bars, the two CDFs and the gap
        assert f"{feature.name} drifted: distance {feature.distance:.3f}" in figure["caption"]
        labels = {text["text"]: text for text in figure["texts"]}
        for label in ("baseline (5,000 values)", "captured (3,000 values)", "largest gap", "Distribution",
                      "Cumulative distribution",
                      "share of values", "share of values ≤ value", "0%", "100%"):
            assert labels[label]["width"] > 0 and labels[label]["height"] > 0, (feature.name, label)
        assert any(text["text"].startswith("gap ") and text["width"] > 0 for text in figure["texts"])

    plan = figures["plan"]  # enterprise appeared, student vanished
    assert plan["kind"] == "categorical" and plan["box"]["width"] > 0 and plan["box"]["height"] > 0
    labels = {text["text"]: text for text in plan["texts"]}
    for label in ("enterprise (new)", "student (gone)", "basic", "baseline share", "captured share"):
        assert labels[label]["width"] > 0 and labels[label]["height"] > 0, label
    assert "1 value appeared, 1 vanished" in plan["caption"]

    assert len(seen["rows"]) == len(NAMES)
    assert [row.split("\t")[0] for row in seen["rows"]][:2] == sorted(found.drifted, key=lambda n: -next(
        f.distance for f in found.features if f.name == n))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
