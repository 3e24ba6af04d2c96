"""Results as pandas objects when pandas is installed, else numpy arrays."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

try:  # pandas is optional
    import pandas as pd
except ImportError:  # pragma: no cover - exercised only without pandas
    pd = None


def has_pandas() -> bool:
    return pd is not None


def series(values: Any, index: Sequence[Any] | None = None, name: str | None = None) -> Any:
    """A pandas Series (numpy array without pandas)."""
    arr = np.asarray(values, dtype=float)
    if pd is None:
        return arr
    return pd.Series(arr, index=None if index is None else list(index) if not hasattr(index, "dtype") else index, name=name)


def frame(values: Any, index: Sequence[Any] | None = None, columns: Sequence[Any] | None = None) -> Any:
    """A pandas DataFrame (2-d numpy array without pandas)."""
    arr = np.asarray(values, dtype=float)
    if pd is None:
        return arr
    return pd.DataFrame(arr, index=None if index is None else list(index), columns=None if columns is None else list(columns))


def table(columns: dict[str, Any], index: Sequence[Any] | None = None) -> Any:
    """A pandas DataFrame of named columns (a dict of numpy arrays without pandas)."""
    if pd is None:
        return {k: np.asarray(v) for k, v in columns.items()}
    return pd.DataFrame(columns, index=None if index is None else list(index))
