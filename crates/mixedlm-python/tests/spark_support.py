"""Shared helpers of the Spark tests: whether Spark can run here, sessions, comparisons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


def spark_unavailable() -> str | None:
    """Why the Spark tests cannot run here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -r tests/requirements.txt)"
    java = shutil.which("java") or (os.path.join(os.environ["JAVA_HOME"], "bin", "java")
                                    if os.environ.get("JAVA_HOME") else None)
    if not java:
        return "no Java runtime: install Java 17 (e.g. apt-get install openjdk-17-jre-headless)"
    try:
        subprocess.run([java, "-version"], check=True, capture_output=True, timeout=60)
    except Exception as e:  # noqa: BLE001
        return f"`java -version` failed ({e}); install Java 17"
    return None


def loopback_env() -> None:
    """Spark on loopback only, with this interpreter (and its pymixedlm) on the executors."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ.setdefault("SPARK_LOCAL_HOSTNAME", "localhost")


def session(master: str, app: str):
    from pyspark.sql import SparkSession

    loopback_env()
    return (SparkSession.builder.master(master).appName(app)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "4")
            .config("spark.pyspark.python", sys.executable)
            # several Arrow batches per partition
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50")
            .config("spark.driver.memory", "1g")
            .config("spark.executor.memory", "1g")
            .getOrCreate())


def simulated(kind: str, seed: int = 7) -> tuple[pd.DataFrame, dict]:
    """Simulated data and the model's arguments (for `spark.fit` and `mixedlm`)."""
    rng = np.random.default_rng(seed)
    if kind == "slopes":
        g = np.repeat(np.arange(40), 12)
        x = np.tile(np.arange(12.0), 40)
        b0, b1 = rng.normal(0, 2, 40), rng.normal(0, 0.5, 40)
        y = 3 + 0.7 * x + b0[g] + b1[g] * x + rng.normal(0, 1, g.size)
        df = pd.DataFrame({"y": y, "x": x, "g": [f"s{i:02d}" for i in g]})
        return df, dict(formula="y ~ x", groups="g", re_formula="~x")
    if kind == "nested":
        school = np.repeat(np.arange(15), 24)
        cls = np.tile(np.repeat(np.arange(3), 8), 15)
        hours = rng.uniform(0, 10, school.size)
        kind_ = rng.choice(["public", "private", "charter"], school.size)
        u, v = rng.normal(0, 3, 15), rng.normal(0, 1.5, (15, 3))
        score = (50 + 1.2 * hours + (kind_ == "private") * 2.0 + u[school] + v[school, cls]
                 + rng.normal(0, 2, school.size))
        df = pd.DataFrame({"score": score, "hours": hours, "kind": kind_,
                           "school": [f"sch{i}" for i in school], "cls": cls})
        return df, dict(formula="score ~ hours + C(kind)", groups="school",
                        re_formula="1", vc_formula={"cls": "0 + C(cls)"})
    if kind == "crossed":
        subj = np.repeat(np.arange(25), 16)
        item = np.tile(np.arange(16), 25)
        x = rng.normal(0, 1, subj.size)
        a, b = rng.normal(0, 1.0, 25), rng.normal(0, 0.7, 16)
        y = 1 + 0.4 * x + a[subj] + b[item] + rng.normal(0, 0.8, subj.size)
        df = pd.DataFrame({"y": y, "x": x, "subj": [f"p{i}" for i in subj],
                           "item": [f"i{i}" for i in item]})
        return df, dict(formula="y ~ x + (1 | subj) + (1 | item)")
    raise ValueError(kind)


def to_spark(spark, df: pd.DataFrame, partitions: int):
    import pyarrow as pa

    sdf = spark.createDataFrame(pa.Table.from_pandas(df, preserve_index=False))
    return sdf.repartition(partitions)


def close(a, b, rel: float, what: str) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)
    worst = float(np.max(np.abs(a - b) / scale, initial=0.0))
    assert worst <= rel, f"{what}: differ by {worst:.3e} (relative), allowed {rel:.0e}"


def assert_same_fit(remote, local) -> None:
    """Spark fit == local fit: objective 1e-9 relative; estimates, BLUPs and Var(β̂) 1e-8."""
    objective_scale = max(abs(local.objective), 1.0)
    gap = abs(remote.objective - local.objective) / objective_scale
    assert gap <= 1e-9, f"objective: {remote.objective} vs {local.objective} ({gap:.2e})"
    assert remote.nobs == local.nobs
    assert list(remote.fe_params.index) == list(local.fe_params.index)
    close(remote.fe_params, local.fe_params, 1e-8, "fixed effects")
    close(remote.theta, local.theta, 1e-8, "theta")
    close(remote.scale, local.scale, 1e-8, "scale")
    close(remote.vcomp, local.vcomp, 1e-8, "variance components")
    re_remote, re_local = remote.random_effects, local.random_effects
    assert list(re_remote) == list(re_local)
    for g in re_local:
        close(np.asarray(re_remote[g]), np.asarray(re_local[g]), 1e-8, f"BLUPs of {g}")
    close(remote.vcov(), local.vcov(), 1e-8, "Var(beta) given theta")


def skip_reason() -> str | None:
    reason = spark_unavailable()
    if reason:
        print(f"\n*** SPARK TESTS SKIPPED: {reason} ***", file=sys.stderr)
    return reason


requires_spark = pytest.mark.skipif(bool(spark_unavailable()), reason=str(spark_unavailable()))
