"""The build's quality gate: a package's metrics against a baseline's (the package an endpoint
serves, else the group's newest other Approved one), the diff, the gates and their verdict, and
what the registry is told (Rejected, or Approved with --approve-on-pass). A metric is better lower
(errors, losses) or higher (scores) by its name, or as a threshold gate declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import botocore.exceptions

from smops import aws, endpoint, gha, registry
from smops.errors import BadInput
from smops.metrics import Metrics, number_text, read
from smops.metrics import number as metrics_number

# Direction from the metric's last name part, word by word: errors and losses fall as a model
# gets better, scores rise. Checked in this order, so `brier_score` is an error.
LOWER_IS_BETTER = re.compile(
    r"(?:^|_)(?:mse|rmse|mae|mape|smape|wape|mase|msle|rmsle|loss|logloss|error|errors|err|"
    r"perplexity|latency|false_positive_rate|false_negative_rate|fpr|fnr|brier)(?:_|$)"
)
HIGHER_IS_BETTER = re.compile(
    r"(?:^|_)(?:r2|auc|accuracy|precision|recall|f0_5|f1|f2|true_positive_rate|true_negative_rate|"
    r"tpr|tnr|specificity|sensitivity|score|map|ndcg|bleu|rouge\w*|iou|dice|kappa|mcc|"
    r"explained_variance)(?:_|$)"
)
HIGHER, LOWER, UNKNOWN = 1, -1, 0
GATE = re.compile(r"^\s*(?P<metric>[^<>=:\s]+)\s*(?P<op>>=|<=)\s*(?P<value>\S+)\s*$")
NO_WORSE = re.compile(r"^\s*(?P<metric>[^<>=:\s]+)\s*:\s*no-worse-than-baseline\s*(?::\s*(?P<tolerance>\S+?)\s*)?$")

def direction(name: str, declared: dict[str, int] | None = None) -> int:
    """HIGHER or LOWER is better for this metric, or UNKNOWN; a gate's declaration wins."""
    for metric, way in (declared or {}).items():
        if name == metric or name.endswith(f".{metric}"):
            return way
    leaf = name.rsplit(".", 1)[-1].lower()
    if LOWER_IS_BETTER.search(leaf):
        return LOWER
    if HIGHER_IS_BETTER.search(leaf):
        return HIGHER
    return UNKNOWN


def resolve(metric: str, names) -> list[str]:
    """The metrics a gate's name means: itself, or those it is the dotted suffix of."""
    names = list(names)
    if metric in names:
        return [metric]
    return [n for n in names if n.endswith(f".{metric}")]


# -- the diff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    name: str
    baseline: float | None
    candidate: float | None
    verdict: str  # better, worse, same, changed (direction unknown), new, gone

    def delta(self) -> str:
        if self.baseline is None or self.candidate is None:
            return ""
        change = self.candidate - self.baseline
        relative = f" ({change / abs(self.baseline):+.1%})" if self.baseline else ""
        return f"{change:+.4g}{relative}"


VERDICT_ICONS = {"better": "✅ better", "worse": "❌ worse", "same": "= same", "changed": "changed",
                 "new": "new", "gone": "gone"}


def diff(candidate: dict[str, float], baseline: dict[str, float], declared: dict[str, int]) -> list[Change]:
    changes = []
    for name in [*candidate, *(n for n in baseline if n not in candidate)]:
        new, old = candidate.get(name), baseline.get(name)
        if old is None or new is None:
            verdict = "new" if old is None else "gone"
        elif new == old:
            verdict = "same"
        else:
            way = direction(name, declared)
            verdict = "changed" if way == UNKNOWN else ("better" if (new - old) * way > 0 else "worse")
        changes.append(Change(name, old, new, verdict))
    return changes


@dataclass(frozen=True)
class Gate:
    """`METRIC>=VALUE`, `METRIC<=VALUE` or `METRIC:no-worse-than-baseline[:TOLERANCE]`, where
    TOLERANCE is an amount of the metric or a percentage of the baseline's value (`2%`)."""

    text: str
    metric: str
    op: str  # ">=", "<=" or "no-worse"
    threshold: float = 0.0
    tolerance: float = 0.0
    percent: bool = False

    @classmethod
    def parse(cls, text: str) -> Gate:
        match = GATE.match(text)
        if match:
            threshold = metrics_number(match["value"])
            if threshold is None:
                raise ValueError(f"{match['value']!r} in gate {text!r} is not a number")
            return cls(text.strip(), match["metric"], match["op"], threshold=threshold)
        match = NO_WORSE.match(text)
        if not match:
            raise ValueError(
                f"gate {text!r} is not METRIC>=VALUE, METRIC<=VALUE or "
                "METRIC:no-worse-than-baseline[:TOLERANCE]"
            )
        raw = match["tolerance"] or "0"
        tolerance = metrics_number(raw.removesuffix("%"))
        if tolerance is None or tolerance < 0:
            raise ValueError(f"tolerance {raw!r} in gate {text!r} is not a number >= 0 (or a percentage like 2%)")
        return cls(text.strip(), match["metric"], "no-worse", tolerance=tolerance, percent=raw.endswith("%"))


def declared_directions(gates: list[Gate]) -> dict[str, int]:
    """A threshold gate says which way is better: `>=` higher, `<=` lower."""
    return {g.metric: HIGHER if g.op == ">=" else LOWER for g in gates if g.op != "no-worse"}


def check_gates(gates: list[Gate]) -> None:
    """Refuse, before anything runs, a baseline gate on a metric nobody said the direction of."""
    declared = declared_directions(gates)
    for gate in gates:
        if gate.op == "no-worse" and direction(gate.metric, declared) == UNKNOWN:
            raise BadInput(
                f"gate {gate.text!r}: cannot tell whether a higher or a lower {gate.metric} is better",
                f"also pass --gate '{gate.metric}>=VALUE' (higher is better) or '{gate.metric}<=VALUE' "
                "(lower is better)",
            )


@dataclass(frozen=True)
class Verdict:
    gate: Gate
    passed: bool
    detail: str


def evaluate(gates: list[Gate], candidate: dict[str, float], baseline: dict[str, float] | None,
             baseline_label: str) -> list[Verdict]:
    """Each gate against the candidate's metrics; a gate that cannot be checked on them fails."""
    declared = declared_directions(gates)
    verdicts = []
    for gate in gates:
        matches = resolve(gate.metric, candidate)
        if len(matches) != 1:
            known = ", ".join(candidate) or "none"
            problem = "is ambiguous: it names " + ", ".join(matches) if matches else "is not among the metrics"
            verdicts.append(Verdict(gate, False, f"{gate.metric} {problem} (the package has: {known})"))
            continue
        name = matches[0]
        value = candidate[name]
        if gate.op == ">=":
            verdicts.append(Verdict(gate, value >= gate.threshold, f"{name} = {value:.4g}, must be ≥ {gate.threshold:g}"))
        elif gate.op == "<=":
            verdicts.append(Verdict(gate, value <= gate.threshold, f"{name} = {value:.4g}, must be ≤ {gate.threshold:g}"))
        elif baseline is None:
            verdicts.append(Verdict(gate, True, f"{name} = {value:.4g}; no baseline to compare with"))
        elif name not in baseline:
            verdicts.append(Verdict(gate, True, f"{name} = {value:.4g}; the baseline {baseline_label} has no {name}"))
        else:
            way = direction(name, declared)
            old = baseline[name]
            allowed = gate.tolerance * abs(old) / 100 if gate.percent else gate.tolerance
            bound = old - allowed if way == HIGHER else old + allowed
            passed = value >= bound if way == HIGHER else value <= bound
            sign = "≥" if way == HIGHER else "≤"
            slack = f" {'-' if way == HIGHER else '+'} {gate.tolerance:g}{'%' if gate.percent else ''}" if allowed else ""
            verdicts.append(Verdict(
                gate, passed, f"{name} = {value:.4g}, must be {sign} {bound:.4g} (baseline {baseline_label}: {old:.4g}{slack})"
            ))
    return verdicts


# -- a built package against its baseline ---------------------------------------------------------


@dataclass
class Assessment:
    """What `smops build` knows about the quality of the package it registered."""

    package: dict
    metrics: Metrics
    baseline: dict | None
    baseline_metrics: Metrics | None
    baseline_note: str
    gates: list[Gate]
    verdicts: list[Verdict]

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]

    def changes(self) -> list[Change]:
        base = self.baseline_metrics.values if self.baseline_metrics else {}
        return diff(self.metrics.values, base, declared_directions(self.gates))


def assess(sm, s3, package: dict, gates: list[Gate], baseline_endpoint: str | None) -> Assessment:
    baseline, note = find_baseline(sm, package, baseline_endpoint)
    baseline_metrics = read(baseline, s3) if baseline else None
    label = registry.label(baseline) if baseline else ""
    candidate = read(package, s3)
    verdicts = evaluate(gates, candidate.values, baseline_metrics.values if baseline_metrics else None, label)
    return Assessment(package, candidate, baseline, baseline_metrics, note, gates, verdicts)


def find_baseline(sm, package: dict, endpoint_name: str | None) -> tuple[dict | None, str]:
    """The package serving `endpoint_name`, else the group's newest other Approved package; and
    a sentence saying which, or why there is none."""
    if endpoint_name:
        try:
            found = endpoint.describe(sm, endpoint_name)
            arn = endpoint.config_package(sm, found["EndpointConfigName"]) if found else None
            baseline = registry.describe(sm, arn) if arn else None
        except (BadInput, botocore.exceptions.ClientError) as exc:
            why = exc.problem if isinstance(exc, BadInput) else aws.error_code(exc)
            return None, f"what endpoint {endpoint_name} serves could not be read ({why}): no baseline"
        if not found:
            return None, f"endpoint {endpoint_name} does not exist yet: no baseline"
        if not baseline:
            return None, f"endpoint {endpoint_name} serves no model package: no baseline"
        return baseline, f"what {endpoint_name} serves: {registry.label(baseline)}"
    group = package.get("ModelPackageGroupName")
    if not group:
        return None, "an unversioned package has no group: no baseline"
    approved = registry.summaries(sm, group, "Approved")
    other = next((s for s in approved if s["ModelPackageArn"] != package["ModelPackageArn"]), None)
    if other is None:
        return None, f"{group} has no other Approved package: no baseline"
    baseline = registry.describe(sm, other["ModelPackageArn"])
    return baseline, f"the newest Approved package of {group}: {registry.label(baseline)}"


def apply(sm, assessment: Assessment, approve_on_pass: bool) -> str | None:
    """Reject the package when a gate failed, approve it when all passed and that was asked; the
    reason goes into its ApprovalDescription. Returns the new status, None when unchanged."""
    if assessment.failed:
        status = "Rejected"
        reason = "smops quality gate failed: " + "; ".join(v.detail for v in assessment.failed)
    elif approve_on_pass and assessment.verdicts:
        status = "Approved"
        reason = f"smops quality gate: all {len(assessment.verdicts)} gates passed: " + "; ".join(
            v.detail for v in assessment.verdicts
        )
    else:
        return None
    run = gha.run_url()
    if run:
        reason += f" ({run})"
    registry.set_status(sm, assessment.package, status, reason)
    return status


# -- Markdown -------------------------------------------------------------------------------------


def markdown(assessment: Assessment) -> str:
    """The side-by-side table and the gates, for the job summary and the pull request comment."""
    package = assessment.package
    candidate = f"candidate {registry.label(package)}"
    lines = [f"**Baseline**: {assessment.baseline_note}."]
    changes = assessment.changes()
    if changes:
        if assessment.baseline:
            rows = [[f"`{c.name}`", number_text(c.baseline), number_text(c.candidate), c.delta(),
                     VERDICT_ICONS[c.verdict]] for c in changes]
            head = ["metric", f"baseline {registry.label(assessment.baseline)}", candidate, "change", ""]
        else:
            rows = [[f"`{c.name}`", number_text(c.candidate)] for c in changes]
            head = ["metric", candidate]
        lines += ["", gha.table(head, rows)]
    else:
        lines += ["", "The package's reports hold no metrics smops can read."]
    if assessment.metrics.unread:
        lines += ["", "Not read: " + ", ".join(f"{n} `{uri}`" for n, uri in assessment.metrics.unread.items())]
    if assessment.verdicts:
        rows = [[f"`{v.gate.text}`", "✅ pass" if v.passed else "❌ fail", v.detail] for v in assessment.verdicts]
        lines += ["", "**Quality gates**", "", gha.table(["gate", "result", "detail"], rows)]
    return "\n".join(lines)
