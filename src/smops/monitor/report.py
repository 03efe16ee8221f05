"""What a drift check found: the report `smops drift` writes, a Model Monitor execution is read
into (smops.monitor.modelmonitor), and the HTML page draws (smops.monitor.drift_html)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Distributions:
    """A feature's baseline and captured distributions, as the HTML report draws them
    (smops.monitor.drift_html): a numeric feature's two CDFs at the baseline sketch's split points and the
    captured range; a categorical feature's value counts."""

    points: Any = None  # numpy array: the baseline's split points
    baseline_cdf: Any = None
    now_cdf: Any = None
    now_range: tuple[float, float] | None = None
    sizes: tuple[float, int] | None = None  # values in the baseline's sketch, values captured
    baseline_counts: dict[str, float] = field(default_factory=dict)
    now_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Feature:
    """One row of the report."""

    name: str
    baseline: str
    now: str
    distance: float | None = None
    threshold: float | None = None
    checks: list[str] = field(default_factory=list)
    distributions: Distributions | None = None

    @property
    def drifted(self) -> bool:
        return "baseline_drift_check" in self.checks


@dataclass
class Report:
    what: str  # where the verdict comes from, for the summary
    records: int
    features: list[Feature]
    violations: list[dict]
    endpoint: str = ""
    window: tuple[dt.datetime, dt.datetime] | None = None
    baseline: str = ""  # where the baseline was read from

    @property
    def drifted(self) -> list[str]:
        found = [f.name for f in self.features if f.drifted]
        return found or sorted({v["feature_name"] for v in self.violations
                                if v["constraint_check_type"] == "baseline_drift_check" and not self.features})
