"""Fit a linear mixed model to a Spark DataFrame, across the cluster's partitions.

The rows stay in Spark; what travels is small::

    from pymixedlm import spark as mlspark
    result = mlspark.fit(sdf, "score ~ hours", groups="school", re_formula="~hours")
    print(result.summary())
    scored = result.transform(sdf)      # + fittedvalues, resid, predicted_population

1. Levels: Spark aggregates the distinct values of every grouping factor and categorical
   predictor (``groupBy(...).agg(first(...))``: one complete row per level), collected to
   the driver and frozen by the engine into bytes, broadcast to the executors.
2. Cross-products: ``mapInArrow`` runs the engine's accumulator on each partition's Arrow
   batches (the GIL released) and yields one record per partition (the versioned record
   of ``CrossProductSums::to_bytes``, docs/SPARK.md); ``treeReduce`` adds them and the
   driver fits from the sum: the same estimates as a fit of all the rows in one process.
3. ``result.transform(sdf)``: fitted values, residuals and population predictions as new
   columns, through one more ``mapInArrow`` pass.

What needs the rows themselves (Satterthwaite and Kenward-Roger tests, profile and
bootstrap intervals, diagnostics, simulation, LRTs that refit) raises
:class:`RowsUnavailableError`, which says to collect the data and fit locally.
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa

from . import _core
from ._errors import engine_errors
from ._model import MixedLM, _engine_method
from ._results import MixedLMResults

__all__ = ["fit", "RowsUnavailableError", "SparkMixedLMResults"]

_RECORD_SCHEMA = "sums binary, rows long, batches long, seconds double"
_NEW_COLUMNS = ("fittedvalues", "resid", "predicted_population")


class RowsUnavailableError(NotImplementedError):
    """An operation needs the rows, which a Spark fit leaves in Spark."""


def _rows_needed(what: str) -> RowsUnavailableError:
    return RowsUnavailableError(
        f"{what} needs the rows, which a Spark fit leaves in the cluster; collect the data "
        "(sdf.toPandas(), or a sample of groups) and fit locally with "
        "pymixedlm.mixedlm(...).fit() for it. Fitted values and residuals of a Spark fit: "
        "result.transform(sdf)."
    )


def fit(sdf: Any, formula: str, groups: str | None = None, re_formula: str | None = None,
        vc_formula: Mapping[str, str] | None = None, reml: bool = True,
        method: str | Sequence[str] | None = None, missing: str = "drop",
        maxiter: int | None = None, tree_depth: int = 2) -> "SparkMixedLMResults":
    """Fit a linear mixed model to the Spark DataFrame ``sdf`` on the cluster.

    The arguments are those of :class:`pymixedlm.MixedLM` (``groups`` must be a column
    name) and of ``MixedLM.fit`` (``reml``, ``method``, ``maxiter``). ``tree_depth`` is
    the depth of the ``treeReduce`` that adds the partitions' records.

    Returns a :class:`~pymixedlm.MixedLMResults` (a :class:`SparkMixedLMResults`) with the
    same estimates, standard errors, variance components and conditional modes as a fit
    of all the rows in one process; ``result.spark_timings`` holds the passes' seconds.

    The executors need pymixedlm installed (the same version as the driver's).
    """
    if groups is not None and not isinstance(groups, str):
        raise TypeError("groups must be a column name of the Spark DataFrame")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    schema_only = _arrow_schema(sdf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the model is built again below, warning once
        probe = MixedLM(formula, schema_only.empty_table(), groups=groups,
                        re_formula=re_formula, vc_formula=vc_formula, missing=missing)
    used = list(probe._columns)
    data = sdf.select(*used)
    complete = data.na.drop(subset=used) if missing == "drop" else data
    level_rows = _level_rows(complete, probe._model_args, used)
    model = MixedLM(formula, level_rows, groups=groups, re_formula=re_formula,
                    vc_formula=vc_formula, missing=missing)
    with engine_errors():
        levels = bytes(_core.freeze_levels(model._model_args, level_rows))
    timings["levels"] = time.perf_counter() - start

    mark = time.perf_counter()
    records = data.mapInArrow(_accumulator(sdf.sparkSession.sparkContext.broadcast(levels)),
                              _RECORD_SCHEMA)
    merged, rows, engine_seconds = _merge(records, levels, tree_depth)
    timings["accumulate"] = time.perf_counter() - mark
    timings["accumulate_engine"] = engine_seconds

    mark = time.perf_counter()
    result = _fit_sums(model, levels, merged, reml, method, maxiter)
    timings["fit"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    result.spark_timings = timings
    result._warn()
    return result


def _arrow_schema(sdf: Any) -> pa.Schema:
    """The Arrow schema Spark gives ``sdf``'s batches."""
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(sdf.schema, prefers_large_types=True)
    except TypeError:  # older pyspark
        return to_arrow_schema(sdf.schema)


def _level_rows(complete: Any, model_args: dict, used: list[str]) -> pa.Table:
    """One complete row per level of every grouping factor and categorical predictor,
    computed by Spark and collected to the driver as Arrow."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    with engine_errors():
        sources = _core.level_columns(model_args)
    types = {f.name: f.dataType for f in complete.schema.fields}
    keys = [cols for cols, always in sources
            if always or not isinstance(types.get(cols[0]), NumericType)]
    parts = []
    for cols in keys:
        others = [F.first(c).alias(c) for c in used if c not in cols]
        agg = complete.groupBy(*cols).agg(*others) if others else complete.select(*cols).distinct()
        parts.append(agg.select(*used))
    union = functools.reduce(lambda a, b: a.unionByName(b), parts)
    table = union.toArrow()
    if table.num_rows == 0:
        raise ValueError("no complete rows: every row has a missing value in a column the "
                         "model uses (or the DataFrame is empty)")
    return table


def _accumulator(levels: Any):
    """The function ``mapInArrow`` runs on each partition (``levels`` is a broadcast)."""

    def accumulate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        acc = _core.SumsAccumulator(levels.value)
        for batch in batches:
            acc.add(batch)
        yield pa.RecordBatch.from_pydict({
            "sums": pa.array([acc.to_bytes()], pa.binary()),
            "rows": pa.array([acc.rows], pa.int64()),
            "batches": pa.array([acc.batches], pa.int64()),
            "seconds": pa.array([acc.seconds], pa.float64()),
        })

    return accumulate


@functools.lru_cache(maxsize=4)
def _merger(levels: bytes):
    return functools.partial(_core.merge_sums, levels)


def _merge(records: Any, levels: bytes, depth: int) -> tuple[bytes, int, float]:
    """The partitions' records added by a tree reduction: (record, rows, engine seconds)."""

    def as_tuple(row: Any) -> tuple[bytes, int, float]:
        return bytes(row.sums), int(row.rows), float(row.seconds)

    def add(a: tuple[bytes, int, float], b: tuple[bytes, int, float]) -> tuple[bytes, int, float]:
        return bytes(_merger(levels)(a[0], b[0])), a[1] + b[1], a[2] + b[2]

    return records.rdd.map(as_tuple).treeReduce(add, depth=max(depth, 1))


def _fit_sums(model: MixedLM, levels: bytes, merged: bytes, reml: bool,
              method: Any, maxiter: int | None) -> "SparkMixedLMResults":
    methods = list(method) if isinstance(method, (list, tuple)) else [method]
    result = None
    for m in methods:
        with engine_errors():
            f = _core.fit_sums(model._model_args, levels, merged, reml=bool(reml),
                               method=_engine_method(m), max_evaluations=maxiter)
        result = SparkMixedLMResults(f, model, levels)
        if result.converged:
            break
    assert result is not None
    return result


class SparkMixedLMResults(MixedLMResults):
    """The results of :func:`fit`: a :class:`~pymixedlm.MixedLMResults` whose rows stay in
    Spark. Everything computed from the estimates works as for a local fit; fitted values
    and residuals come from :meth:`transform`; what needs the rows raises
    :class:`RowsUnavailableError`."""

    spark_timings: dict

    def __init__(self, fit: Any, model: MixedLM, levels: bytes):
        super().__init__(fit, model)
        self._levels = levels
        self.spark_timings = {}

    def transform(self, sdf: Any, fitted: str = "fittedvalues", resid: str = "resid",
                  population: str = "predicted_population") -> Any:
        """``sdf`` with three new columns, computed by the executors (one ``mapInArrow``
        pass): ``fitted`` (conditional predictions X β̂ + Z b̂, the fitted values),
        ``resid`` (response − fitted) and ``population`` (X β̂). Rows with a missing value
        get nulls; a response column absent from ``sdf`` gives null residuals. The levels
        of ``sdf`` must be among those fitted (the fitted DataFrame or part of it); for
        data with new groups use ``result.predict(pandas_df, level="conditional")``.
        """
        from pyspark.sql import functions as F
        from pyspark.sql.types import DoubleType, StructField, StructType

        names = (fitted, resid, population)
        clash = [n for n in names if n in sdf.columns]
        if clash:
            raise ValueError(f"sdf already has column(s) {clash}; pass other names "
                             "(transform(sdf, fitted=..., resid=..., population=...))")
        response = self.model.endog_names
        no_response = response not in sdf.columns
        if no_response:
            sdf = sdf.withColumn(response, F.lit(0.0))
        with engine_errors():
            beta, condval = _core.coefficients(self._fit, self._levels)
        shared = sdf.sparkSession.sparkContext.broadcast((self._levels, beta, condval))
        schema = StructType(list(sdf.schema.fields)
                            + [StructField(n, DoubleType(), True) for n in names])
        out = sdf.mapInArrow(_fitted_columns(shared, names, no_response), schema)
        return out.drop(response) if no_response else out

    # ---- what needs the rows ----

    @property
    def _joint(self) -> None:
        # statsmodels' joint information of (β, ψ) is summed group by group over the rows;
        # a Spark fit reports lme4's Var(β̂) given θ̂ (``vcov()``), and NaN for the
        # variance parameters' standard errors.
        return None

    @property
    def fittedvalues(self) -> Any:
        raise _rows_needed("fittedvalues (use result.transform(sdf))")

    @property
    def resid(self) -> Any:
        raise _rows_needed("resid (use result.transform(sdf))")

    def predict(self, exog: Any = None, level: str = "population",
                new_levels: str = "population") -> Any:
        """Predictions for new data given here (pandas, polars, pyarrow); for a Spark
        DataFrame use :meth:`transform`."""
        if exog is None:
            raise _rows_needed("predict() on the fitted data (use result.transform(sdf))")
        return super().predict(exog, level=level, new_levels=new_levels)

    def fixed_effect_tests(self, ddf: str = "satterthwaite") -> Any:
        if ddf.lower() not in ("z", "wald", "normal"):
            raise _rows_needed(f"ddf={ddf!r} (Satterthwaite/Kenward-Roger)")
        return super().fixed_effect_tests(ddf)

    def summary(self, *args: Any, ddf: str | None = None, **kwargs: Any) -> Any:
        if ddf is not None and ddf.lower() not in ("z", "wald", "normal"):
            raise _rows_needed(f"summary(ddf={ddf!r})")
        return super().summary(*args, ddf=ddf, **kwargs)

    def confint(self, parm: Any = None, level: float = 0.95, method: str = "profile",
                *args: Any, **kwargs: Any) -> Any:
        if method.lower() != "wald":
            raise _rows_needed(f"confint(method={method!r}) (method='Wald' works)")
        return super().confint(parm, level, method, *args, **kwargs)

    def compare(self, *others: MixedLMResults) -> Any:
        raise _rows_needed("compare() (likelihood-ratio tests refit the models)")

    def diagnostics(self, influence: bool = False) -> list[dict]:
        raise _rows_needed("diagnostics()")

    def plot_diagnostics(self, directory: Any, format: str = "svg") -> list[str]:
        raise _rows_needed("plot_diagnostics()")

    def simulate(self, nsim: int = 1, seed: int = 42) -> np.ndarray:
        raise _rows_needed("simulate() (and the parametric bootstrap)")


def _fitted_columns(shared: Any, names: tuple[str, str, str], no_response: bool):
    """The function ``mapInArrow`` runs on each partition for :meth:`transform`."""

    def add_columns(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        levels, beta, condval = shared.value
        values = _core.FittedValues(levels, beta, condval)
        for batch in batches:
            f = values.fitted(batch)
            rows = np.asarray(f["row_index"], dtype=np.int64)
            n = batch.num_rows
            missing = np.ones(n, dtype=bool)
            missing[rows] = False
            arrays = list(batch.columns)
            for key in ("fitted", "resid", "population"):
                v = np.zeros(n)
                v[rows] = f[key]
                mask = np.ones(n, dtype=bool) if (key == "resid" and no_response) else missing
                arrays.append(pa.array(v, pa.float64(), mask=mask))
            yield pa.RecordBatch.from_arrays(arrays, names=list(batch.schema.names) + list(names))

    return add_columns
