"""Benchmark: the Spark route (local[2]) against the single-process streamed fit
(`mixedlm fit --stream`) on the same Parquet file. Not part of CI (minutes, GBs).

    python benches/spark_bench.py [--rows 20000000] [--groups 200000] [--out target/spark-bench]
                                  [--cli target/release/mixedlm]

Needs pymixedlm (release build: pip install crates/mixedlm-python), pyspark and Java 17,
and the release CLI (cargo build --release -p mixedlm-cli). Prints wall times, peak memory
(driver process, Spark JVM, Python workers) and the split between Spark's passes and the
fit; results go to benches/README.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

FORMULA = "y ~ x + (1 + x | g)"


def generate(path: pathlib.Path, rows: int, groups: int, seed: int = 1) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    b0, b1 = rng.normal(0, 1.0, groups), rng.normal(0, 0.3, groups)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, pa.schema([("y", pa.float64()), ("x", pa.float64()),
                                           ("g", pa.int64())])) as w:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            g = rng.integers(0, groups, n)
            x = rng.normal(0, 1, n)
            y = 2 + 0.5 * x + b0[g] + b1[g] * x + rng.normal(0, 1, n)
            w.write_table(pa.table({"y": y, "x": x, "g": g}), row_group_size=1_000_000)


def streamed(cli: str, path: pathlib.Path) -> dict:
    cmd = ["/usr/bin/time", "-v", cli, "fit", str(path), "--formula", FORMULA, "--stream",
           "--format", "json"]
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    out = json.loads(p.stdout)
    return {"wall_s": wall, "peak_mib": peak / 1024, "objective": out.get("objective"),
            "timing": out.get("timing"), "stream": out.get("streaming")}


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = []
        try:  # a JVM forks from any of its threads: read every thread's children
            for task in os.listdir(f"/proc/{p}/task"):
                kids += open(f"/proc/{p}/task/{task}/children").read().split()
        except OSError:
            pass
        out += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return out


def spark_run(path: pathlib.Path, partitions: int | None) -> dict:
    """One Spark fit in this process; memory sampled from /proc every 0.2 s."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # loopback only
    from pyspark.sql import SparkSession

    import pymixedlm

    spark = (SparkSession.builder.master("local[2]").appName("pymixedlm-bench")
             .config("spark.driver.memory", "4g").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .getOrCreate())
    peaks = {"jvm": 0, "workers": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            kids = _descendants(os.getpid())
            jvm = [k for k in kids if "java" in open(f"/proc/{k}/comm").read()] if kids else []
            peaks["jvm"] = max([peaks["jvm"]] + [_rss_kib(k) for k in jvm])
            workers = [k for k in kids if k not in jvm]
            peaks["workers"] = max(peaks["workers"], sum(_rss_kib(k) for k in workers))
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    sdf = spark.read.parquet(str(path))
    if partitions:
        sdf = sdf.repartition(partitions)
    result = pymixedlm.spark.fit(sdf, FORMULA)
    wall = time.perf_counter() - start
    stop.set()
    spark.stop()
    return {"wall_s": wall, "timings": result.spark_timings, "objective": result.objective,
            "driver_python_peak_mib": _rss_kib(os.getpid(), "VmHWM") / 1024,
            "jvm_peak_mib": peaks["jvm"] / 1024,
            "python_workers_peak_mib (sum)": peaks["workers"] / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--groups", type=int, default=200_000)
    ap.add_argument("--out", default="target/spark-bench")
    ap.add_argument("--cli", default="target/release/mixedlm")
    ap.add_argument("--spark-only", action="store_true")
    ap.add_argument("--partitions", type=int, default=0)
    a = ap.parse_args()
    path = pathlib.Path(a.out) / f"sim_{a.rows}_{a.groups}.parquet"
    if not path.exists():
        t = time.perf_counter()
        generate(path, a.rows, a.groups)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    report = {"rows": a.rows, "groups": a.groups, "formula": FORMULA}
    if not a.spark_only:
        report["streamed_cli"] = streamed(a.cli, path)
    report["spark_local2"] = spark_run(path, a.partitions or None)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
