"""A streaming profile of tabular data, column by column, in memory that does not grow with the rows.

Feed it batches of rows (lists of cells as text); each column keeps counts (present, missing, by
type), numeric moments (merged per batch with Chan's parallel formula), its smallest value, and
what the caller asks for: a KLL quantile sketch (Apache DataSketches, the sketch Model Monitor's
Deequ uses) to write a baseline, the counts at fixed split points to compare with one, and value
counts for categorical columns (bounded). Types are inferred as Model Monitor names them:
Integral ("3", "-7"), Fractional ("3.0", "1e-3"), String (anything else).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable

import numpy as np

MISSING = {"", "nan", "NaN", "null", "None"}
MAX_CATEGORIES = 1000  # distinct values counted per column; more are only counted as "other"
BATCH_ROWS = 4096


def is_integral(text: str) -> bool:
    return text.lstrip("+-").isdigit()


class Column:
    """What one column looked like so far."""

    def __init__(self, sketch_k: int | None = None, split_points: np.ndarray | None = None,
                 categories: bool = True):
        self.present = 0
        self.missing = 0
        self.integral = 0
        self.fractional = 0
        self.strings = 0
        self.count = 0  # numeric values
        self.mean = 0.0
        self.m2 = 0.0
        self.total = 0.0
        self.min = np.inf
        self.max = -np.inf
        self.negatives = 0
        self.sketch = None
        if sketch_k:
            from datasketches import kll_doubles_sketch

            self.sketch = kll_doubles_sketch(sketch_k)
        self.split_points = split_points
        if split_points is not None:
            # Histograms whose running sums are the counts of values < and <= each point.
            self.below = np.zeros(len(split_points) + 1, dtype=np.int64)
            self.at_or_below = np.zeros(len(split_points) + 1, dtype=np.int64)
        self.categories: Counter | None = Counter() if categories else None
        self.other = 0

    def add(self, cells: Iterable[str | None]) -> None:
        cells = [c.strip() if c is not None else "" for c in cells]
        present = [c for c in cells if c not in MISSING]
        self.missing += len(cells) - len(present)
        self.present += len(present)
        if not present:
            return
        try:
            numbers = np.asarray(present, dtype=np.float64)
            texts = present
        except ValueError:
            numeric = []
            texts = []
            for cell in present:
                try:
                    numeric.append(float(cell))
                    texts.append(cell)
                except ValueError:
                    self.strings += 1
            numbers = np.asarray(numeric, dtype=np.float64)
        integral = sum(1 for t in texts if is_integral(t))
        self.integral += integral
        self.fractional += len(texts) - integral
        if numbers.size:
            self._numbers(numbers[np.isfinite(numbers)])
        if self.categories is not None:
            for value, n in Counter(present).items():
                if value in self.categories or len(self.categories) < MAX_CATEGORIES:
                    self.categories[value] += n
                else:
                    self.other += n

    def _numbers(self, values: np.ndarray) -> None:
        if not values.size:
            return
        n, mean = values.size, float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        delta = mean - self.mean
        total = self.count + n
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total
        self.total += float(values.sum())
        self.min = min(self.min, float(values.min()))
        self.max = max(self.max, float(values.max()))
        self.negatives += int((values < 0).sum())
        if self.sketch is not None:
            self.sketch.update(values)
        if self.split_points is not None:
            points = self.split_points
            self.below += np.bincount(np.searchsorted(points, values, "right"), minlength=len(points) + 1)
            self.at_or_below += np.bincount(np.searchsorted(points, values, "left"), minlength=len(points) + 1)

    @property
    def std_dev(self) -> float:
        return float(np.sqrt(self.m2 / self.count)) if self.count else 0.0

    @property
    def inferred_type(self) -> str:
        if self.strings or not self.present:
            return "String" if self.strings or not self.count else "Fractional"
        return "Fractional" if self.fractional else "Integral"

    def type_share(self, expected: str) -> float:
        """The share of present values of the expected type (an integer is also Fractional)."""
        if not self.present:
            return 1.0
        matching = {
            "Integral": self.integral,
            "Fractional": self.integral + self.fractional,
        }.get(expected, self.present)
        return matching / self.present

    def cdf_at_split_points(self) -> np.ndarray:
        """F_now(point) at each split point: the share of the values seen that are <= it."""
        return np.cumsum(self.at_or_below)[:-1] / max(self.count, 1)

    def cdf_distance(self, cdf: np.ndarray) -> float:
        """sup |F_baseline - F_now| where F_baseline is the step function with value cdf[i] from
        split_points[i] on, and F_now the empirical CDF of every value seen: exact, since between
        two split points F_baseline is flat and F_now can only rise."""
        if not self.count:
            return 0.0
        now_at = self.cdf_at_split_points()
        now_before = np.cumsum(self.below)[:-1] / self.count  # F_now just below point
        baseline_before = np.concatenate(([0.0], cdf[:-1]))
        return float(max(np.abs(cdf - now_at).max(), np.abs(baseline_before - now_before).max()))


def transpose(rows: list[list[str]], width: int) -> list[tuple]:
    """Rows as `width` columns: a short row gives None (missing) for its absent cells, cells past
    `width` are dropped."""
    if not rows:
        return []
    columns = list(itertools.zip_longest(*rows, fillvalue=None))[:width]
    return columns + [(None,) * len(rows)] * (width - len(columns))


def batches(rows: Iterable[list[str]]) -> Iterable[list[list[str]]]:
    rows = iter(rows)
    while batch := list(itertools.islice(rows, BATCH_ROWS)):
        yield batch


# -- partial profiles: what one shard of a Processing job hands back -----------------------------


def dump(column: Column) -> dict:
    """A column's whole state as JSON, the KLL sketch in DataSketches' own binary format (base64),
    so that `load` on another machine gives a column that merges exactly as this one would."""
    import base64

    state = {name: getattr(column, name) for name in
             ("present", "missing", "integral", "fractional", "strings", "count", "mean", "m2", "total",
              "negatives", "other")}
    state["min"] = column.min if column.count else None
    state["max"] = column.max if column.count else None
    state["sketch"] = base64.b64encode(column.sketch.serialize()).decode() if column.sketch is not None else None
    state["split_points"] = column.split_points.tolist() if column.split_points is not None else None
    if column.split_points is not None:
        state["below"], state["at_or_below"] = column.below.tolist(), column.at_or_below.tolist()
    state["categories"] = dict(column.categories) if column.categories is not None else None
    return state


def load(state: dict) -> Column:
    import base64

    points = state.get("split_points")
    column = Column(split_points=np.asarray(points, dtype=np.float64) if points is not None else None,
                    categories=state.get("categories") is not None)
    for name in ("present", "missing", "integral", "fractional", "strings", "count", "mean", "m2", "total",
                 "negatives", "other"):
        setattr(column, name, state[name])
    if state["count"]:
        column.min, column.max = state["min"], state["max"]
    if state.get("sketch"):
        from datasketches import kll_doubles_sketch

        column.sketch = kll_doubles_sketch.deserialize(base64.b64decode(state["sketch"]))
    if points is not None:
        column.below = np.asarray(state["below"], dtype=np.int64)
        column.at_or_below = np.asarray(state["at_or_below"], dtype=np.int64)
    if column.categories is not None:
        column.categories.update(state["categories"])
    return column


def merge(into: Column, other: Column) -> None:
    """Add `other`'s values to `into`: counts and histograms add, moments combine with Chan's
    formula, sketches merge (KLL's merge keeps its error bound), categories add up to
    MAX_CATEGORIES distinct values and count the rest as "other"."""
    for name in ("present", "missing", "integral", "fractional", "strings", "total", "negatives", "other"):
        setattr(into, name, getattr(into, name) + getattr(other, name))
    if other.count:
        total = into.count + other.count
        delta = other.mean - into.mean
        into.m2 += other.m2 + delta * delta * into.count * other.count / total
        into.mean += delta * other.count / total
        into.count = total
        into.min, into.max = min(into.min, other.min), max(into.max, other.max)
    if into.sketch is not None and other.sketch is not None:
        into.sketch.merge(other.sketch)
    if into.split_points is not None and other.split_points is not None:
        into.below += other.below
        into.at_or_below += other.at_or_below
    if into.categories is not None and other.categories is not None:
        for value, n in other.categories.items():
            if value in into.categories or len(into.categories) < MAX_CATEGORIES:
                into.categories[value] += n
            else:
                into.other += n
