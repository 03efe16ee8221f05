"""A streaming profile of tabular data, column by column, in memory that does not grow with the rows.

Feed it batches: a CSV text parsed at once by pyarrow (`Table.add_csv`), Arrow arrays (from
Parquet), or rows of cells (`Table.add_rows`, for what is not plain CSV). Each column keeps counts
(present, missing, by type), numeric moments (merged per batch with Chan's parallel formula), its
smallest value, and what the caller asks for: a KLL quantile sketch (Apache DataSketches, the sketch
Model Monitor's Deequ uses) to write a baseline, the counts at fixed split points to compare with
one, and value counts for categorical columns (bounded). Types are inferred as Model Monitor names
them: Integral ("3", "-7"), Fractional ("3.0", "1e-3"), String (anything else). A batch of a column
whose cells all read as numbers is profiled with array operations; any other goes cell by cell.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable

import numpy as np

MISSING = {"", "nan", "NaN", "null", "None"}  # after stripping blanks
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

    def add_array(self, array) -> None:
        """A batch of cells as an Arrow array: text (null for missing), or numbers typed by the file."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
            integers = pa.types.is_integer(array.type)
            array = array.cast(pa.float64())
            if not integers:
                array = pc.if_else(pc.is_nan(array), None, array)  # NaN is missing, as "nan" is in text
            present = len(array) - array.null_count
            self.missing += array.null_count
            self.present += present
            if integers:
                self.integral += present
            else:
                self.fractional += present
            values = _numpy(array)
            self._numbers(values[np.isfinite(values)])
            return
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array = array.cast(pa.string())
        self._text(array)

    def _text(self, texts) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        try:  # every present cell a number (whitespace would fail the cast: Column.add strips it)
            numbers = texts.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            self.add(texts.to_pylist())
            return
        present = texts.drop_null()
        self.missing += texts.null_count
        self.present += len(present)
        integral = pc.sum(pc.ascii_is_decimal(pc.utf8_ltrim(present, characters="+-"))).as_py() or 0
        self.integral += integral
        self.fractional += len(present) - integral
        values = _numpy(numbers)
        self._numbers(values[np.isfinite(values)])
        if self.categories is not None and len(present):
            self._count(present)

    def _count(self, texts) -> None:
        """Value counts of present cells, as `add` counts them, without a Python object per cell once
        MAX_CATEGORIES values are known."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if len(self.categories) >= MAX_CATEGORIES:
            known = pc.is_in(texts, value_set=pa.array(list(self.categories), pa.string()))
            inside = texts.filter(known)
            self.other += len(texts) - len(inside)
            texts = inside
        counts = pc.value_counts(texts)
        for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
            if value in self.categories or len(self.categories) < MAX_CATEGORIES:
                self.categories[value] += n
            else:
                self.other += n

    def _numbers(self, values: np.ndarray) -> None:
        if not values.size:
            return
        # Sorted once (numpy's SIMD sort), the extremes, the negatives and the counts at every split
        # point are each a lookup: several times faster than searching each value among the points.
        values = np.sort(values)
        n = values.size
        total = float(values.sum())
        mean = total / n
        deviations = values - mean
        m2 = float(np.square(deviations, out=deviations).sum())  # not a dot product: BLAS may spin up threads
        delta = mean - self.mean
        merged = self.count + n
        self.mean += delta * n / merged
        self.m2 += m2 + delta * delta * self.count * n / merged
        self.count = merged
        self.total += total
        self.min = min(self.min, float(values[0]))
        self.max = max(self.max, float(values[-1]))
        self.negatives += int(np.searchsorted(values, 0.0, "left"))
        if self.sketch is not None:
            self.sketch.update(values)
        if self.split_points is not None:
            # the running sums of these histograms are the counts of values < and <= each point
            self.below += np.diff(np.searchsorted(values, self.split_points, "left"), prepend=0, append=n)
            self.at_or_below += np.diff(np.searchsorted(values, self.split_points, "right"), prepend=0, append=n)

    def merge(self, other: Column) -> None:
        """Add what another column of the same kind (sketch, split points) saw: counts and
        histograms add, moments merge by Chan's formula, KLL sketches merge as they are meant to."""
        for name in ("present", "missing", "integral", "fractional", "strings", "negatives", "other"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.count:
            total = self.count + other.count
            delta = other.mean - self.mean
            self.m2 += other.m2 + delta * delta * self.count * other.count / total
            self.mean += delta * other.count / total
            self.count = total
        self.total += other.total
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        if self.sketch is not None:
            self.sketch.merge(other.sketch)
        if self.split_points is not None:
            self.below += other.below
            self.at_or_below += other.at_or_below
        if self.categories is not None:
            for value, n in other.categories.items():
                if value in self.categories or len(self.categories) < MAX_CATEGORIES:
                    self.categories[value] += n
                else:
                    self.other += n

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


def _numpy(numbers) -> np.ndarray:
    """The present values of an Arrow float64 array, without a copy (Array.to_numpy would import
    pandas, if installed, for 30 MiB)."""
    numbers = numbers.drop_null() if numbers.null_count else numbers
    if not len(numbers):
        return np.empty(0)
    return np.frombuffer(numbers.buffers()[1], dtype=np.float64, count=len(numbers), offset=numbers.offset * 8)


class Table:
    """Columns profiled together, and how many rows had fewer or more cells than there are columns
    (the narrowest row's width too)."""

    def __init__(self, columns: list[Column]):
        self.columns = columns
        self.width = len(columns)
        self.short = self.long = 0
        self.narrowest = self.width

    def merge(self, other: Table) -> None:
        for column, theirs in zip(self.columns, other.columns):
            column.merge(theirs)
        self.short += other.short
        self.long += other.long
        self.narrowest = min(self.narrowest, other.narrowest)

    def add_rows(self, rows: list[list[str]]) -> None:
        for row in rows:
            self.short += len(row) < self.width
            self.long += len(row) > self.width
            self.narrowest = min(self.narrowest, len(row))
        for start in range(0, len(rows), BATCH_ROWS):
            for column, cells in zip(self.columns, transpose(rows[start:start + BATCH_ROWS], self.width)):
                column.add(cells)

    def add_arrays(self, arrays) -> None:
        for column, array in zip(self.columns, arrays):
            column.add_array(array)

    def add_csv(self, text: bytes) -> None:
        """CSV text (no header) parsed at once: rows of the table's width as Arrow columns, and the
        rows of any other width cell by cell."""
        if not text:
            return
        if not self.width:  # nothing to profile, only rows to count
            self.add_rows([row for row in csv.reader(io.StringIO(text.decode("utf-8", errors="replace"))) if row])
            return
        odd: list[str] = []
        try:
            table = read_csv(io.BytesIO(text), self.width, odd.append)
        except ValueError:  # e.g. text that is not UTF-8: cell by cell, as the record reader would
            self.add_rows([row for row in csv.reader(io.StringIO(text.decode("utf-8", errors="replace"))) if row])
            return
        self.add_arrays(column.combine_chunks() for column in table.columns)
        if odd:
            self.add_rows([row for row in csv.reader(odd) if row])


def csv_options(width: int, names: list[str] | None = None, on_odd_row=None, skip_rows: int = 0) -> dict:
    """pyarrow.csv options that read every cell as text, MISSING as null, and hand each row of
    another width to `on_odd_row` (its text) instead of failing."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = names or [f"_c{i}" for i in range(width)]

    def odd(row) -> str:
        if on_odd_row is not None:
            on_odd_row(row.text)
        return "skip"

    return {
        "read_options": pa_csv.ReadOptions(column_names=names, skip_rows=skip_rows, block_size=1 << 22, use_threads=False),
        "parse_options": pa_csv.ParseOptions(invalid_row_handler=odd),
        "convert_options": pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 null_values=sorted(MISSING), strings_can_be_null=True),
    }


def read_csv(source, width: int, on_odd_row=None):
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        return pa_csv.read_csv(source, **csv_options(width, on_odd_row=on_odd_row))
    except pa.ArrowInvalid as exc:
        raise ValueError(str(exc)) from None


# -- partial profiles: what one shard of a Processing job hands back -----------------------------

COUNTS = ("present", "missing", "integral", "fractional", "strings", "count", "mean", "m2", "total", "negatives", "other")


def dump(column: Column) -> dict:
    """A column's whole state as JSON, the KLL sketch in DataSketches' own binary format (base64),
    so that `load` on another machine gives a column that merges (Column.merge) exactly as this one
    would."""
    import base64

    state = {name: getattr(column, name) for name in COUNTS}
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
    for name in COUNTS:
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


def dump_table(table: Table) -> dict:
    """A table's columns (`dump`) and row-width counts as JSON."""
    return {"columns": [dump(column) for column in table.columns], "short": table.short, "long": table.long,
            "narrowest": table.narrowest}


def load_table(state: dict) -> Table:
    table = Table([load(column) for column in state["columns"]])
    table.short, table.long, table.narrowest = state["short"], state["long"], state["narrowest"]
    return table
