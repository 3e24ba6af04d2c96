"""pymixedlm.spark on a real standalone Spark cluster on loopback: one master and two
workers started from the pyspark package's own `spark-class`, bound to 127.0.0.1, stopped
after the module. The Spark fit equals the local fit, as in local mode."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

import pymixedlm
from spark_support import (assert_same_fit, loopback_env, requires_spark, session, simulated,
                           skip_reason, to_spark)

pytestmark = requires_spark
skip_reason()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_class() -> tuple[str, dict]:
    import pyspark

    home = pathlib.Path(pyspark.__file__).parent
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1",
               SPARK_NO_DAEMONIZE="1", PYSPARK_PYTHON=sys.executable)
    return str(home / "bin" / "spark-class"), env


def wait_for_workers(ui_port: int, n: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as r:
                state = json.load(r)
            alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
            if len(alive) >= n:
                return
            last = f"{len(alive)} worker(s) alive"
        except OSError as e:
            last = str(e)
        time.sleep(1)
    raise RuntimeError(f"the standalone cluster did not come up: {last}")


@pytest.fixture(scope="module")
def cluster():
    loopback_env()
    script, env = spark_class()
    port, ui = free_port(), free_port()
    work = tempfile.mkdtemp(prefix="pymixedlm-spark-")
    logs = open(os.path.join(work, "cluster.log"), "w")
    procs = [subprocess.Popen(
        [script, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui)],
        env=env, stdout=logs, stderr=subprocess.STDOUT)]
    master = f"spark://127.0.0.1:{port}"
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [script, "org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                 "--work-dir", work],
                env=env, stdout=logs, stderr=subprocess.STDOUT))
        wait_for_workers(ui, 2)
        yield master
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()


@pytest.fixture(scope="module")
def spark(cluster):
    s = session(cluster, "pymixedlm-cluster-test")
    yield s
    s.stop()


@pytest.mark.parametrize("kind", ["slopes", "nested", "crossed"])
def test_standalone_cluster_fit_equals_local_fit(spark, kind):
    assert spark.sparkContext.master.startswith("spark://127.0.0.1:")
    df, args = simulated(kind)
    a = dict(args)
    formula = a.pop("formula")
    local = pymixedlm.MixedLM(formula, df, **a).fit()
    sdf = to_spark(spark, df, 7)
    remote = pymixedlm.spark.fit(sdf, **args)
    assert_same_fit(remote, local)
    # the executors ran in the workers' processes, not the driver's
    hosts = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    assert hosts >= 3  # the driver and two executors
