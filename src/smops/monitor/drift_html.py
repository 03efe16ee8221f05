"""The HTML report of `smops drift --html-report`: pictures for whoever must decide whether to retrain.

One self-contained page: a header (endpoint, window, records, verdict); a figure per drifted numeric
feature, its baseline's and its captured distribution side by side (a histogram and the two CDFs
with their largest gap, the distance the check measured), drawn from the baseline sketch's split
points, where smops drift knows both CDFs exactly; a figure per categorical feature whose values
appeared or vanished; then a compact table of every feature. Inline SVG and an inline stylesheet
only: no script, and a Content-Security-Policy that lets the page load nothing from anywhere, so it
renders the same from an artifact, a mail attachment or an air-gapped laptop.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

import numpy as np

BASELINE_COLOUR, CAPTURED_COLOUR, GAP_COLOUR = "#4e79a7", "#f28e2b", "#c62828"
BINS = 24
TAIL = 0.01  # the histogram's range leaves out this share of each distribution at each end
TOP_VALUES = 10  # categorical values drawn per feature
WIDTH, HEIGHT = 920, 300  # a numeric figure's SVG; each of its two panels is half as wide
MARGIN = {"left": 58, "right": 16, "top": 56, "bottom": 46}
STYLE = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --drift: #c62828; --ok: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 28px 24px 40px; }
header { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; }
.kicker { margin: 0; color: var(--muted); font-size: 12px; letter-spacing: .06em; text-transform: uppercase; }
h1 { margin: 2px 0 10px; font-size: 24px; }
h2 { margin: 28px 0 10px; font-size: 17px; }
.verdict { display: inline-block; margin: 0 0 12px; padding: 4px 12px; border-radius: 999px; font-weight: 600; }
.verdict.drift { background: #ffebe9; color: var(--drift); }
.verdict.ok { background: #dafbe1; color: var(--ok); }
dl { display: flex; flex-wrap: wrap; gap: 10px 40px; margin: 0; }
dt { color: var(--muted); font-size: 12px; }
dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
figure { margin: 0 0 16px; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
figcaption { font-size: 15px; margin-bottom: 4px; }
figcaption .distance { color: var(--drift); font-weight: 600; }
figure svg { display: block; width: 100%; height: auto; }
svg text { font-family: inherit; fill: var(--ink); }
svg .axis-label, svg .tick { fill: var(--muted); }
.changes { margin: 6px 0 0; color: var(--muted); }
.changes b { color: var(--ink); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 10px;
        overflow: hidden; font-size: 13px; }
th, td { padding: 6px 10px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { background: #f6f8fa; font-weight: 600; color: var(--muted); }
tr:last-child td { border-bottom: 0; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.bar { width: 120px; height: 8px; background: #eaeef2; border-radius: 4px; position: relative; }
.bar span { position: absolute; inset: 0 auto 0 0; border-radius: 4px; background: var(--muted); }
.bar i { position: absolute; top: -3px; bottom: -3px; width: 2px; background: var(--ink); }
tr.drifted .bar span { background: var(--drift); }
.bad { color: var(--drift); font-weight: 600; }
.good { color: var(--ok); }
ul.violations { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px 10px 32px; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
"""


def render(endpoint: str, report) -> str:
    """The page for a drift.Report (of `endpoint`)."""
    drifted = report.drifted
    numeric = sorted((f for f in report.features if f.drifted and f.distributions is not None
                      and f.distributions.points is not None), key=lambda f: -(f.distance or 0))
    categorical = [f for f in report.features if f.distributions is not None and f.distributions.baseline_counts
                   and any(_changes(f.distributions))]
    figures = [_numeric_figure(f) for f in numeric] + [_categorical_figure(f) for f in categorical]
    body = [_header(endpoint, report, drifted)]
    if figures:
        body += ["<h2>What changed</h2>", *figures]
    elif report.features:
        body.append("<h2>What changed</h2><p>No feature drifted and no categorical value appeared or vanished.</p>")
    if report.features:
        body += ["<h2>Every feature</h2>", _table(report.features)]
    if report.violations:
        body += [f"<h2>Violations ({len(report.violations)})</h2>", _violations(report.violations)]
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>smops drift: {escape(endpoint)}</title>\n<style>{STYLE}</style>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


# -- the header, the table, the violations -------------------------------------------------------


def _header(endpoint: str, report, drifted: list[str]) -> str:
    if drifted:
        of = f" of {len(report.features)}" if report.features else ""
        verdict = (f'<p class="verdict drift">Drift in {len(drifted)}{of} feature{"s" * (len(drifted) != 1)}: '
                   f"{escape(', '.join(drifted))}</p>")
    else:
        verdict = '<p class="verdict ok">No drift</p>'
    facts = []
    if report.window:
        begin, end = report.window
        facts.append(("Window", f"{_time(begin)} → {_time(end)} UTC ({_duration(end - begin)})"))
    facts.append(("Records", f"{report.records:,}"))
    if report.baseline:
        facts.append(("Baseline", f"<code>{escape(report.baseline)}</code>"))
    facts.append(("Violations", str(len(report.violations))))
    if not report.window:  # a Model Monitor schedule's verdict: say where it comes from
        facts.append(("From", escape(report.what.replace("`", ""))))
    listed = "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in facts)
    return (f'<header>\n<p class="kicker">smops drift report</p>\n<h1>{escape(endpoint)}</h1>\n{verdict}\n'
            f"<dl>{listed}</dl>\n</header>")


def _table(features) -> str:
    rows = []
    for f in sorted(features, key=lambda f: -(f.distance if f.distance is not None else -1)):
        if f.distance is None:
            bar = ""
        else:
            bar = (f'<div class="bar" title="distance {f.distance:.3f}"><span style="width:{100 * min(f.distance, 1):.1f}%">'
                   f'</span>' + (f'<i style="left:{100 * min(f.threshold, 1):.1f}%"></i>' if f.threshold is not None else "")
                   + "</div>")
        verdict = ("drift" if f.drifted else ", ".join(c.removesuffix("_check").replace("_", " ") for c in f.checks)) or "ok"
        rows.append(
            f'<tr class="{"drifted" if f.drifted else ""}"><td><code>{escape(f.name)}</code></td>'
            f"<td>{escape(f.baseline)}</td><td>{escape(f.now)}</td>"
            f'<td class="number">{"" if f.distance is None else f"{f.distance:.3f}"}</td>'
            f'<td class="number">{"" if f.threshold is None else f"{f.threshold:g}"}</td><td>{bar}</td>'
            f'<td class="{"bad" if f.checks else "good"}">{"✗" if f.checks else "✓"} {escape(verdict)}</td></tr>'
        )
    return ("<table>\n<thead><tr><th>feature</th><th>baseline</th><th>now</th><th>distance</th><th>threshold</th>"
            "<th aria-label=\"distance, the mark at the threshold\"></th><th>verdict</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>")


def _violations(violations: list[dict]) -> str:
    items = "".join(f"<li><code>{escape(v['feature_name'])}</code> {escape(v['constraint_check_type'])}: "
                    f"{escape(v['description'])}</li>" for v in violations)
    return f'<ul class="violations">{items}</ul>'


def _time(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _duration(span: dt.timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n) or "0 min"


# -- a numeric feature: histogram and CDFs, side by side -----------------------------------------


def _cdfs(d):
    """(x, F(x)) knots of the baseline's CDF and of the captured values' CDF: exact at the
    baseline's split points; the captured one from 0 at its minimum to 1 at its maximum."""
    points = np.asarray(d.points, dtype=float)
    low, high = d.now_range
    inside = (points >= low) & (points <= high)
    now_x = np.concatenate(([low], points[inside], [high]))
    now_y = np.concatenate(([0.0], np.asarray(d.now_cdf, dtype=float)[inside], [1.0]))
    return (points, np.asarray(d.baseline_cdf, dtype=float)), (now_x, now_y)


def _quantile(knots, q: float) -> float:
    x, y = knots
    return float(x[min(int(np.searchsorted(y, q)), len(x) - 1)])


def _numeric_figure(feature) -> str:
    d = feature.distributions
    baseline, captured = _cdfs(d)
    low = min(_quantile(baseline, TAIL), _quantile(captured, TAIL))
    high = max(_quantile(baseline, 1 - TAIL), _quantile(captured, 1 - TAIL))
    if high <= low:  # one value: give it some room
        low, high = low - max(abs(low) * 0.1, 0.5), high + max(abs(high) * 0.1, 0.5)
    pad = (high - low) * 0.03
    low, high = low - pad, high + pad
    edges = np.linspace(low, high, BINS + 1)
    shares = []
    for x, y in (baseline, captured):
        at = np.interp(edges, x, y, left=0.0, right=1.0)
        at[0], at[-1] = 0.0, 1.0  # the tails left out go to the end bins
        shares.append(np.diff(at))
    # The largest gap between the CDFs, where both are known exactly: the split points.
    gaps = np.abs(np.asarray(d.baseline_cdf, dtype=float) - np.asarray(d.now_cdf, dtype=float))
    at = int(np.argmax(gaps))
    gap = (float(d.points[at]), float(d.baseline_cdf[at]), float(d.now_cdf[at]))
    allowance = feature.distance < abs(gap[1] - gap[2]) - 1e-9
    half = WIDTH // 2
    parts = [
        _legend(d.sizes),
        _histogram(0, half, edges, shares),
        _cdf_panel(half, half, (low, high), baseline, captured, gap),
    ]
    name = escape(feature.name)
    return (
        f'<figure class="feature" data-feature="{name}" data-kind="numeric">\n'
        f'<figcaption><code>{name}</code> drifted: <span class="distance">distance {feature.distance:.3f}</span> '
        f"over the threshold {feature.threshold:g} (the largest gap between the two CDFs"
        f"{', less the allowance for few samples' if allowance else ''})</figcaption>\n"
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{name}: baseline and captured distributions">'
        + "".join(parts) + "</svg>\n</figure>"
    )


def _legend(sizes: tuple[float, int] | None) -> str:
    counts = [f" ({n:,.0f} values)" for n in sizes] if sizes else ["", ""]
    entries = (("baseline", counts[0], BASELINE_COLOUR), ("captured", counts[1], CAPTURED_COLOUR),
               ("largest gap", "", GAP_COLOUR))
    items, x = [], WIDTH / 2 - (200 if sizes else 150)
    for label, count, colour in entries:
        mark = (f'<rect x="{x:.0f}" y="10" width="14" height="10" rx="2" fill="{colour}"/>' if label != "largest gap"
                else f'<line x1="{x + 7:.0f}" y1="8" x2="{x + 7:.0f}" y2="22" stroke="{colour}" stroke-width="2.5"/>')
        items.append(f'<g class="legend-item">{mark}<text x="{x + 20:.0f}" y="19" font-size="12">'
                     f'{label}<tspan class="tick">{count}</tspan></text></g>')
        x += 110 + 7 * len(count)
    return '<g class="legend">' + "".join(items) + "</g>"


class _Frame:
    """A panel's plot area and its scales."""

    def __init__(self, left: float, width: float, xs: tuple[float, float], ys: tuple[float, float]):
        self.x0, self.x1 = left + MARGIN["left"], left + width - MARGIN["right"]
        self.y0, self.y1 = HEIGHT - MARGIN["bottom"], MARGIN["top"]
        self.xs, self.ys = xs, ys

    def x(self, value: float) -> float:
        return self.x0 + (value - self.xs[0]) / (self.xs[1] - self.xs[0]) * (self.x1 - self.x0)

    def y(self, value: float) -> float:
        return self.y0 - (value - self.ys[0]) / (self.ys[1] - self.ys[0]) * (self.y0 - self.y1)

    def axes(self, title: str, x_label: str, y_label: str, y_format) -> str:
        out = [f'<text class="panel-title" x="{self.x0:.0f}" y="{self.y1 - 10:.0f}" font-size="13" '
               f'font-weight="600">{escape(title)}</text>']
        for value in _ticks(*self.ys):
            y = self.y(value)
            out.append(f'<line x1="{self.x0:.1f}" y1="{y:.1f}" x2="{self.x1:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
                       f'<text class="tick" x="{self.x0 - 6:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                       f"{y_format(value)}</text>")
        for value in _ticks(*self.xs):
            x = self.x(value)
            out.append(f'<line x1="{x:.1f}" y1="{self.y0:.1f}" x2="{x:.1f}" y2="{self.y0 + 4:.1f}" stroke="#8c959f"/>'
                       f'<text class="tick" x="{x:.1f}" y="{self.y0 + 17:.1f}" font-size="11" text-anchor="middle">'
                       f"{_number(value)}</text>")
        out.append(f'<line class="axis" x1="{self.x0:.1f}" y1="{self.y0:.1f}" x2="{self.x1:.1f}" y2="{self.y0:.1f}" '
                   f'stroke="#8c959f"/><line class="axis" x1="{self.x0:.1f}" y1="{self.y0:.1f}" x2="{self.x0:.1f}" '
                   f'y2="{self.y1:.1f}" stroke="#8c959f"/>')
        out.append(f'<text class="axis-label" x="{(self.x0 + self.x1) / 2:.1f}" y="{HEIGHT - 8}" font-size="12" '
                   f'text-anchor="middle">{escape(x_label)}</text>')
        middle = (self.y0 + self.y1) / 2
        out.append(f'<text class="axis-label" x="{self.x0 - 44:.1f}" y="{middle:.1f}" font-size="12" '
                   f'text-anchor="middle" transform="rotate(-90 {self.x0 - 44:.1f} {middle:.1f})">{escape(y_label)}</text>')
        return "".join(out)


def _histogram(left: float, width: float, edges: np.ndarray, shares: list[np.ndarray]) -> str:
    top = max(float(max(s.max() for s in shares)) * 1.12, 1e-9)
    frame = _Frame(left, width, (float(edges[0]), float(edges[-1])), (0.0, top))
    out = ['<g class="panel histogram">',
           frame.axes("Distribution", f"value (the end bars hold the {100 * TAIL:g}% tails)", "share of values", _percent)]
    for i in range(len(edges) - 1):
        x0, x1 = frame.x(edges[i]), frame.x(edges[i + 1])
        bar = (x1 - x0) * 0.42
        for j, (share, colour) in enumerate(zip(shares, (BASELINE_COLOUR, CAPTURED_COLOUR))):
            if share[i] > 0:
                y = frame.y(float(share[i]))
                out.append(f'<rect x="{x0 + (x1 - x0) * 0.08 + j * bar:.2f}" y="{y:.2f}" width="{bar:.2f}" '
                           f'height="{frame.y0 - y:.2f}" fill="{colour}"/>')
    out.append("</g>")
    return "".join(out)


def _cdf_panel(left: float, width: float, xs: tuple[float, float], baseline, captured, gap) -> str:
    frame = _Frame(left, width, xs, (0.0, 1.0))
    grid = np.linspace(xs[0], xs[1], 240)
    out = ['<g class="panel cdf">', frame.axes("Cumulative distribution", "value", "share of values ≤ value", _percent)]
    for (x, y), colour in ((baseline, BASELINE_COLOUR), (captured, CAPTURED_COLOUR)):
        line = " ".join(f"{frame.x(v):.1f},{frame.y(f):.1f}" for v, f in zip(grid, np.interp(grid, x, y, left=0.0, right=1.0)))
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2.2"/>')
    where, base_at, now_at = gap
    if xs[0] <= where <= xs[1]:
        x = frame.x(where)
        out.append(f'<line class="gap" x1="{x:.1f}" y1="{frame.y(base_at):.1f}" x2="{x:.1f}" y2="{frame.y(now_at):.1f}" '
                   f'stroke="{GAP_COLOUR}" stroke-width="2.5"/>')
        anchor = "start" if x < (frame.x0 + frame.x1) / 2 else "end"
        out.append(f'<text class="gap-label" x="{x + (6 if anchor == "start" else -6):.1f}" '
                   f'y="{frame.y((base_at + now_at) / 2) + 4:.1f}" font-size="12" fill="{GAP_COLOUR}" '
                   f'text-anchor="{anchor}">gap {abs(base_at - now_at):.2f} at {_number(where)}</text>')
    out.append("</g>")
    return "".join(out)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2, 2.5 or 5 × 10^k apart) inside [low, high]."""
    span = high - low
    if span <= 0:
        return [low]
    step = 10 ** math.floor(math.log10(span / count))
    step *= next((m for m in (1, 2, 2.5, 5, 10) if span / (step * m) <= count), 10)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _percent(share: float) -> str:
    return f"{_number(round(100 * share, 6))}%"


def _number(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.6g}" if abs(value - round(value)) > 1e-9 * max(1.0, abs(value)) else f"{round(value):d}"
    return f"{value:.2g}"


# -- a categorical feature: shares of its values, and what appeared or vanished ---------------------


def _changes(d) -> tuple[set[str], set[str]]:
    """(values that appeared, values that vanished)."""
    now = {v for v, n in d.now_counts.items() if n}
    return now - set(d.baseline_counts), set(d.baseline_counts) - now


def _categorical_figure(feature) -> str:
    d = feature.distributions
    appeared, vanished = _changes(d)
    totals = sum(d.baseline_counts.values()), sum(d.now_counts.values())
    shares = [{v: n / total for v, n in counts.items()} if total else {}
              for counts, total in zip((d.baseline_counts, d.now_counts), totals)]
    values = sorted(set(d.baseline_counts) | set(d.now_counts),
                    key=lambda v: (-max(shares[0].get(v, 0.0), shares[1].get(v, 0.0)), v))[:TOP_VALUES]
    row, top, label_width = 30, 34, 180
    height = top + row * len(values) + 8
    scale = (WIDTH - label_width - 90) / max(max(s.get(v, 0.0) for s in shares for v in values), 1e-9)
    out = [_legend_categorical()]
    for i, value in enumerate(values):
        y = top + i * row
        tag = " (new)" if value in appeared else " (gone)" if value in vanished else ""
        out.append(f'<text class="value-label" x="{label_width - 8}" y="{y + 17}" font-size="12" text-anchor="end">'
                   f"{escape(_short(value))}{tag}</text>")
        for j, (share, colour) in enumerate(zip(shares, (BASELINE_COLOUR, CAPTURED_COLOUR))):
            w = share.get(value, 0.0) * scale
            out.append(f'<rect x="{label_width}" y="{y + 3 + j * 12}" width="{max(w, 0.5):.1f}" height="11" fill="{colour}"/>'
                       f'<text class="tick" x="{label_width + w + 5:.1f}" y="{y + 12 + j * 12}" font-size="10">'
                       f"{100 * share.get(value, 0.0):.1f}%</text>")
    name = escape(feature.name)
    lists = []
    for label, found, counts in (("Appeared", appeared, d.now_counts), ("Vanished", vanished, d.baseline_counts)):
        if found:
            listed = ", ".join(f"<code>{escape(v)}</code> ({counts[v]:,.0f})" for v in sorted(found, key=lambda v: -counts[v])[:12])
            lists.append(f"<b>{label}:</b> {listed}{' …' if len(found) > 12 else ''}")
    checks = ", ".join(c.removesuffix("_check").replace("_", " ") for c in feature.checks)
    return (
        f'<figure class="feature" data-feature="{name}" data-kind="categorical">\n'
        f"<figcaption><code>{name}</code>: {len(appeared)} value{'s' * (len(appeared) != 1)} appeared, "
        f"{len(vanished)} vanished{f' ({escape(checks)})' if checks else ''}</figcaption>\n"
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{name}: share of each value, baseline and captured">'
        + "".join(out) + "</svg>\n"
        f'<p class="changes">{"<br>".join(lists)}</p>\n</figure>'
    )


def _legend_categorical() -> str:
    return ('<g class="legend">'
            f'<rect x="180" y="8" width="14" height="10" rx="2" fill="{BASELINE_COLOUR}"/>'
            '<text x="200" y="17" font-size="12">baseline share</text>'
            f'<rect x="320" y="8" width="14" height="10" rx="2" fill="{CAPTURED_COLOUR}"/>'
            '<text x="340" y="17" font-size="12">captured share</text></g>')


def _short(value: str, limit: int = 24) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
