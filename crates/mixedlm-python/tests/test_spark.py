"""pymixedlm.spark on Spark local[2] (one session for the module): the Spark fit equals the
local fit (objective 1e-9 relative, estimates and BLUPs 1e-8) at 1, 7 and 64 partitions, on
simulated data (one-term slopes, nested schools/classes, crossed) and reference data sets;
transform(); the refusals. The standalone cluster is tested in test_spark_cluster.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pymixedlm
from conftest import read_csv
from spark_support import (assert_same_fit, close, requires_spark, session, simulated,
                           skip_reason, to_spark)

pytestmark = requires_spark
skip_reason()

# (data, spark.fit arguments, local-fit arguments)
CASES = {
    "sleepstudy slopes": ("sleepstudy", dict(formula="Reaction ~ Days + (Days | Subject)")),
    "pastes nested": ("pastes", dict(formula="strength ~ 1 + (1 | batch/cask)")),
    "penicillin crossed": ("penicillin", dict(formula="diameter ~ 1 + (1 | plate) + (1 | sample)")),
}


@pytest.fixture(scope="module")
def spark():
    s = session("local[2]", "pymixedlm-tests")
    yield s
    s.stop()


def local_fit(df: pd.DataFrame, args: dict, reml: bool = True):
    a = dict(args)
    formula = a.pop("formula")
    return pymixedlm.MixedLM(formula, df, **a).fit(reml=reml)


def data_and_args(name: str) -> tuple[pd.DataFrame, dict]:
    if name in ("slopes", "nested", "crossed"):
        return simulated(name)
    data, args = CASES[name]
    return read_csv(data), args


# Every model shape at two of 1, 7 and 64 partitions and every partitioning on simulated
# and reference data, counting the tests below (missing values: slopes at 7; ML: nested at
# 7; transform: crossed at 7). 64 partitions of a few hundred rows leave some empty and merge
# records of different shifts. A 64-partition case costs several times a 1-partition one (64
# Python tasks a pass): the full cross product would add minutes to CI without a new path.
PARTITIONINGS = [("slopes", 1), ("nested", 1), ("crossed", 64), ("sleepstudy slopes", 64),
                 ("pastes nested", 7), ("penicillin crossed", 1)]


@pytest.mark.parametrize("name, partitions", PARTITIONINGS)
def test_spark_fit_equals_local_fit(spark, name, partitions):
    df, args = data_and_args(name)
    local = local_fit(df, args)
    remote = pymixedlm.spark.fit(to_spark(spark, df, partitions), **args)
    assert isinstance(remote, pymixedlm.MixedLMResults)
    assert_same_fit(remote, local)


def test_ml_fit_and_from_spark_classmethod(spark):
    df, args = simulated("nested")
    local = local_fit(df, args, reml=False)
    a = dict(args)
    remote = pymixedlm.MixedLM.from_spark(to_spark(spark, df, 7), a.pop("formula"), reml=False, **a)
    assert not remote.reml
    assert_same_fit(remote, local)
    assert set(remote.spark_timings) >= {"levels", "accumulate", "fit", "total"}


def test_missing_values_are_dropped_as_locally(spark):
    df, args = simulated("slopes")
    df = df.copy()
    df.loc[[3, 50, 51, 200], "y"] = np.nan
    df.loc[[7], "x"] = np.nan
    local = local_fit(df, args)
    remote = pymixedlm.spark.fit(to_spark(spark, df, 7), **args)
    assert remote.nobs == len(df) - 5
    assert_same_fit(remote, local)


def test_transform_adds_fitted_values_residuals_and_predictions(spark):
    df, args = simulated("crossed")
    df = df.copy()
    df["row"] = np.arange(len(df))
    df.loc[[5], "x"] = np.nan
    local = local_fit(df, args)
    sdf = to_spark(spark, df, 7)
    remote = pymixedlm.spark.fit(sdf, **args)
    assert_same_fit(remote, local)
    out = remote.transform(sdf).toPandas().sort_values("row").set_index("row")
    assert list(out.columns[-3:]) == ["fittedvalues", "resid", "predicted_population"]
    assert out.loc[5, ["fittedvalues", "resid", "predicted_population"]].isna().all()
    used = out.drop(index=5)
    close(used["fittedvalues"], local.fittedvalues.loc[used.index], 1e-8, "fitted values")
    close(used["resid"], local.resid.loc[used.index], 1e-8, "residuals")
    population = local.predict(df.drop(index=5))
    close(used["predicted_population"], population, 1e-8, "population predictions")
    # without the response: predictions, null residuals
    bare = remote.transform(sdf.drop("y")).toPandas().sort_values("row").set_index("row")
    assert "y" not in bare.columns
    assert bare["resid"].isna().all()
    close(bare.drop(index=5)["fittedvalues"], used["fittedvalues"], 1e-12, "no response")


def test_row_level_inference_names_the_alternative(spark):
    df, args = simulated("slopes")
    remote = pymixedlm.spark.fit(to_spark(spark, df, 1), **args)
    for call in (lambda: remote.fittedvalues, lambda: remote.resid,
                 lambda: remote.fixed_effect_tests("kenward-roger"),
                 lambda: remote.confint(method="boot"), lambda: remote.simulate(2),
                 lambda: remote.diagnostics(), lambda: remote.predict()):
        with pytest.raises(pymixedlm.spark.RowsUnavailableError, match="fit locally"):
            call()
    assert isinstance(pymixedlm.spark.RowsUnavailableError("x"), NotImplementedError)
    # what is computed from the estimates works
    tests = remote.fixed_effect_tests("z")
    assert tests.shape[0] == 2
    assert "x" in str(remote.summary())  # z tests: no rows needed
    new = df.head(5)
    local = local_fit(df, args)
    close(remote.predict(new, level="conditional"), local.predict(new, level="conditional"),
          1e-8, "predict on pandas")


def test_engine_errors_reach_the_driver(spark):
    df, args = simulated("slopes")
    sdf = to_spark(spark, df, 2)
    with pytest.raises(pymixedlm.ColumnNotFoundError):
        pymixedlm.spark.fit(sdf, "y ~ nope", groups="g")
    with pytest.raises(TypeError, match="column name"):
        pymixedlm.spark.fit(sdf, "y ~ x", groups=df["g"])
    with pytest.raises(ValueError, match="scale"):
        pymixedlm.spark.fit(sdf, "y ~ scale(x)", groups="g")
