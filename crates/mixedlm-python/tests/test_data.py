"""Data in: every input kind gives the same fit; numeric columns are not copied; integer
IDs stay integers; missing values are dropped and counted."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pymixedlm
from pymixedlm import _core
from conftest import DATA

FORMULA = "Reaction ~ Days + (Days | Subject)"


def test_every_input_kind_gives_the_same_fit(sleepstudy, tmp_path):
    table = pa.Table.from_pandas(sleepstudy, preserve_index=False)
    parquet = tmp_path / "sleep.parquet"
    pq.write_table(table, parquet)

    class Stream:
        """Anything with the Arrow PyCapsule interface."""

        def __arrow_c_stream__(self, requested_schema=None):
            return table.__arrow_c_stream__(requested_schema)

    inputs = {
        "pandas": sleepstudy,
        "polars": pl.from_pandas(sleepstudy),
        "pyarrow table": table,
        "pyarrow batch": table.to_batches()[0],
        "capsule": Stream(),
        "dict of numpy": {c: sleepstudy[c].to_numpy() for c in sleepstudy.columns},
        "csv path": str(DATA / "sleepstudy.csv"),
        "parquet path": parquet,
    }
    objectives = {k: pymixedlm.lmer(FORMULA, v).objective for k, v in inputs.items()}
    want = objectives["pandas"]
    assert abs(want - 1743.6282719599) < 1e-5
    for k, v in objectives.items():
        assert abs(v - want) < 1e-9, (k, v)


def test_float64_columns_are_not_copied(sleepstudy):
    """The engine reads the buffer that pyarrow (and before it numpy) holds."""
    days = np.ascontiguousarray(sleepstudy["Days"].to_numpy(dtype=float))
    reaction = sleepstudy["Reaction"].to_numpy()
    table = pa.table({"Days": pa.array(days), "Reaction": pa.array(reaction)})
    seen = _core.column_addresses(table)
    assert seen["Days"] == table.column("Days").chunks[0].buffers()[1].address
    assert seen["Days"] == days.ctypes.data  # numpy -> pyarrow -> engine: one buffer
    # the same through the path pandas data take
    from pymixedlm._data import prepare

    frame = pd.DataFrame({"Days": days, "Reaction": reaction, "Subject": sleepstudy["Subject"]})
    prepared = prepare(frame, ["Reaction", "Days", "Subject"])
    assert _core.column_addresses(prepared.arrow)["Days"] == frame["Days"].to_numpy().ctypes.data
    polars = pl.DataFrame({"Days": days})
    addr = _core.column_addresses(polars)["Days"]
    assert addr == polars["Days"].to_arrow().buffers()[1].address


def test_integer_ids_stay_integers(sleepstudy):
    m = pymixedlm.mixedlm("Reaction ~ Days", sleepstudy, groups="Subject", re_formula="~Days").fit()
    assert sorted(m.random_effects)[:2] == [308, 309]
    assert all(type(k) is int for k in m.random_effects)
    assert list(m.ranef()["Subject"].index[:2]) == [308, 309]
    string_ids = sleepstudy.assign(Subject=sleepstudy["Subject"].astype(str))
    m2 = pymixedlm.mixedlm("Reaction ~ Days", string_ids, groups="Subject").fit()
    assert "308" in m2.random_effects


def test_missing_values_are_dropped_and_counted(sleepstudy):
    data = sleepstudy.copy()
    data.loc[[3, 50], "Reaction"] = np.nan
    data.loc[7, "Days"] = None
    m = pymixedlm.mixedlm("Reaction ~ Days", data, groups=data["Subject"]).fit()
    assert m.nobs == 177 and m.n_dropped == 3
    assert 3 not in m.fittedvalues.index and 4 in m.fittedvalues.index
    with pytest.raises(ValueError, match="missing"):
        pymixedlm.mixedlm("Reaction ~ Days", data, groups=data["Subject"], missing="raise")


def test_groups_as_array_and_only_used_columns_are_converted(sleepstudy):
    data = sleepstudy.assign(note=[{"unconvertible": i} for i in range(len(sleepstudy))])
    m = pymixedlm.mixedlm("Reaction ~ Days", data, groups=data["Subject"].to_numpy()).fit()
    assert "Group Var" in m.params.index
    assert abs(m.llf - (-893.2325427)) < 1e-5


def test_pandas_categorical_and_nullable_columns(sleepstudy):
    data = sleepstudy.assign(Subject=sleepstudy["Subject"].astype(str).astype("category"),
                             Days=sleepstudy["Days"].astype("Int64"))
    m = pymixedlm.lmer(FORMULA, data)
    assert abs(m.objective - 1743.6282719599) < 1e-5


def test_results_without_pandas_are_numpy(sleepstudy, monkeypatch):
    from pymixedlm import _compat

    monkeypatch.setattr(_compat, "pd", None)
    m = pymixedlm.lmer(FORMULA, pa.Table.from_pandas(sleepstudy))
    assert isinstance(m.fe_params, np.ndarray) and m.fe_params.shape == (2,)
    assert isinstance(m.cov_re, np.ndarray) and m.cov_re.shape == (2, 2)
    assert isinstance(m.fittedvalues, np.ndarray)


def test_the_gil_is_released_while_fitting():
    """Another Python thread keeps running while the engine fits."""
    rng = np.random.default_rng(1)
    n, g = 200_000, 2_000
    data = {"g": rng.integers(0, g, n), "h": rng.integers(0, 300, n), "x": rng.normal(size=n)}
    data["y"] = data["x"] + rng.normal(size=g)[data["g"]] + rng.normal(size=300)[data["h"]] + rng.normal(size=n)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    start = time.perf_counter()
    try:
        pymixedlm.lmer("y ~ x + (1 | g) + (1 | h)", data)
    finally:
        done.set()
        counter.join()
    elapsed = time.perf_counter() - start
    during = [t for t in ticks if t >= start]
    # with the GIL held the counter would tick at most a handful of times (switch interval)
    assert len(during) >= max(5, 0.3 * elapsed / 0.001 * 0.1), (len(during), elapsed)


def test_pandas_chunked_text_column_leaves_float64_columns_uncopied(sleepstudy):
    """pandas may hold a text column in several Arrow chunks; the float64 columns beside it
    still reach the engine as the numpy buffers they are."""
    from pymixedlm._data import prepare

    ids = sleepstudy["Subject"].astype(str).tolist()
    chunked = pa.chunked_array([ids[:90], ids[90:]], type=pa.large_string())
    frame = pd.DataFrame({"Days": sleepstudy["Days"].to_numpy(dtype=float),
                          "Reaction": sleepstudy["Reaction"].to_numpy(),
                          "Subject": pd.Series(pd.arrays.ArrowStringArray(chunked))})
    prepared = prepare(frame, ["Reaction", "Days", "Subject"])
    seen = _core.column_addresses(prepared.arrow)
    assert seen["Days"] == frame["Days"].to_numpy().ctypes.data
    assert seen["Reaction"] == frame["Reaction"].to_numpy().ctypes.data


def test_pandas_categorical_keeps_its_categories_order(sleepstudy):
    """A Categorical's levels are its categories in order (the first is the reference), as
    patsy and R's factor take them; plain text is sorted."""
    dose = np.where(sleepstudy["Days"] < 3, "low", np.where(sleepstudy["Days"] < 6, "mid", "high"))
    data = sleepstudy.assign(dose=pd.Categorical(dose, categories=["low", "mid", "high"]))
    m = pymixedlm.mixedlm("Reaction ~ dose", data, groups="Subject").fit()
    assert list(m.fe_params.index) == ["Intercept", "dose[T.mid]", "dose[T.high]"]
    # the same model as text whose sorted order is the categories' order
    text = sleepstudy.assign(dose=pd.Series(dose).map({"low": "a", "mid": "b", "high": "c"}))
    t = pymixedlm.mixedlm("Reaction ~ dose", text, groups="Subject").fit()
    assert np.allclose(m.fe_params.to_numpy(), t.fe_params.to_numpy(), rtol=1e-6)
    assert list(pymixedlm.lmer("Reaction ~ dose + (1 | Subject)", data).fixef().index) == \
        ["(Intercept)", "dosemid", "dosehigh"]
