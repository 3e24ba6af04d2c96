"""Data in: pandas, polars, pyarrow, Arrow PyCapsule objects, dicts of arrays, file paths.

Everything becomes an Arrow table holding only the columns the model reads, without copying
numeric columns: pandas' and numpy's float64 and int64 buffers are wrapped by pyarrow as
they are, polars and pyarrow data are handed over through ``__arrow_c_stream__``, and the
engine reads those buffers in place (its first pass over the data reads the producer's
memory). Text columns are converted to Arrow strings (pandas' object columns must be).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from . import _core


@dataclass
class Data:
    """A model's data as the engine takes it, and what the results need to index rows."""

    arrow: Any  # a pyarrow Table / RecordBatch, or any __arrow_c_stream__ object
    index: Any  # the pandas index of the rows (None: positions 0..n-1)
    n_rows: int
    types: dict[str, pa.DataType]  # the Arrow type of each column passed


def _is_pandas(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("pandas") and hasattr(obj, "columns") and hasattr(obj, "index")


def _is_polars(obj: Any) -> bool:
    return type(obj).__module__.startswith("polars") and hasattr(obj, "select")


def _column_from_pandas(series: Any) -> pa.Array:
    """One pandas column as Arrow; numeric columns without a copy."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
            # an Arrow dictionary: the engine takes its order as the levels' order (the
            # first category is the reference level), as patsy does
            codes = series.cat.codes.to_numpy()
            values = pa.array(np.asarray(cats, dtype=object).astype(str), type=pa.string())
            return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), values)
        return pa.array(np.asarray(series.astype(cats.dtype)))
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        # numpy-backed: pyarrow wraps the buffer (NaN stays NaN; the engine reads NaN as
        # missing, as pandas does)
        return pa.array(series.to_numpy(copy=False), from_pandas=False)
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        raise TypeError(
            f"column '{series.name}' holds dates or times; the engine needs numbers or "
            "categories: convert it first, e.g. (df[col] - df[col].min()).dt.days"
        )
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise TypeError(
            f"column '{series.name}' mixes types that Arrow cannot hold in one column ({e}); "
            "convert it with .astype(str) or .astype(float)"
        ) from None


def _missing_columns(available, wanted) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        from ._errors import ColumnNotFoundError

        names = ", ".join(map(str, list(available)[:20]))
        raise ColumnNotFoundError(
            f"unknown column '{missing[0]}' in the formula; the data have: {names}"
        )


def prepare(data: Any, columns: list[str], extra: dict[str, Any] | None = None) -> Data:
    """The columns `columns` of `data` (plus `extra` arrays, e.g. a `groups` Series) as Arrow."""
    extra = extra or {}
    wanted = [c for c in columns if c not in extra]
    if isinstance(data, (str, os.PathLike)):
        batch = _core.read_table(os.fspath(data))
        data = pa.Table.from_batches([batch])
    if _is_pandas(data):
        _missing_columns(data.columns, wanted)
        arrays = {c: _column_from_pandas(data[c]) for c in wanted}
        index = data.index
        n = len(data)
    elif _is_polars(data):
        _missing_columns(data.columns, wanted)
        if not extra:
            sub = data.select(wanted)
            return Data(sub, None, sub.height, {c: None for c in wanted})
        arrays = {c: pa.array(data.get_column(c).to_arrow()) for c in wanted}
        index, n = None, data.height
    elif isinstance(data, (pa.Table, pa.RecordBatch)):
        _missing_columns(data.column_names, wanted)
        arrays = {c: data.column(c) for c in wanted}
        index, n = None, data.num_rows
    elif isinstance(data, dict):
        _missing_columns(list(data), wanted)
        arrays = {}
        for c in wanted:
            v = data[c]
            if _is_pandas_series(v):
                arrays[c] = _column_from_pandas(v)
            elif isinstance(v, (pa.Array, pa.ChunkedArray)):
                arrays[c] = v
            else:
                arrays[c] = pa.array(np.asarray(v))
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            raise ValueError(f"the arrays in the dict have different lengths: {sorted(lengths)}")
        index, n = None, (lengths.pop() if lengths else 0)
    elif hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        if extra:
            data = pa.table(data)
            _missing_columns(data.column_names, wanted)
            arrays = {c: data.column(c) for c in wanted}
            index, n = None, data.num_rows
        else:
            return Data(data, None, -1, {})
    else:
        raise TypeError(
            f"cannot read data of type {type(data).__name__}: give a pandas or polars "
            "DataFrame, a pyarrow Table or RecordBatch, an object with __arrow_c_stream__, "
            "a dict of numpy arrays, or the path of a CSV/Parquet/Arrow file"
        )
    for name, values in extra.items():
        arrays[name] = _extra_column(values, n, name)
    table = pa.table({c: _one_chunk(a) for c, a in arrays.items()})
    return Data(table, index, n, {f.name: f.type for f in table.schema})


def _one_chunk(values: Any) -> Any:
    """A column in one piece. A table whose columns are chunked differently reaches the
    engine as several record batches, which it must concatenate, copying every column; so
    the chunked ones (pandas' Arrow-backed strings often are) are joined here, alone."""
    if isinstance(values, pa.ChunkedArray) and values.num_chunks > 1:
        return values.combine_chunks()
    return values


def _is_pandas_series(v: Any) -> bool:
    return type(v).__module__.startswith("pandas") and hasattr(v, "dtype") and hasattr(v, "index")


def _extra_column(values: Any, n: int, name: str) -> pa.Array:
    if _is_pandas_series(values):
        arr = _column_from_pandas(values)
    elif isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values
    elif hasattr(values, "to_arrow"):  # a polars Series
        arr = values.to_arrow()
    else:
        arr = pa.array(np.asarray(values))
    if len(arr) != n:
        raise ValueError(f"`{name}` has {len(arr)} values but the data have {n} rows")
    return arr


def group_values(data: Data, column: str) -> np.ndarray | None:
    """The values of a column of the prepared data, as numpy (None if not at hand)."""
    arrow = data.arrow
    if isinstance(arrow, (pa.Table, pa.RecordBatch)) and column in arrow.column_names:
        col = arrow.column(column)
        return col.to_numpy(zero_copy_only=False) if hasattr(col, "to_numpy") else np.asarray(col)
    if _is_polars(arrow) and column in arrow.columns:
        return arrow.get_column(column).to_numpy()
    return None


def column_type(data: Data, column: str) -> pa.DataType | None:
    """The Arrow type of a column of the prepared data, if known."""
    t = data.types.get(column)
    if t is not None:
        return t
    arrow = data.arrow
    if _is_polars(arrow) and column in arrow.columns:
        return arrow.select(column).head(0).to_arrow().schema.field(column).type
    return None
