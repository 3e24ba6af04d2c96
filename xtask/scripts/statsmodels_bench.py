"""Times statsmodels' MixedLM.fit on one CSV; prints one JSON line.

Usage: python3 statsmodels_bench.py DATA.csv FORMULA GROUPS RE_FORMULA|- VC_JSON|- REML(1|0) FACTORS|- REPS
Only MixedLM.fit() is timed (`build_seconds` = building the model from the formula; reading the
file is not timed); median over REPS runs. `evaluations` counts log-likelihood calls.
GROUPS "one" means a constant column (all rows in one group, for crossed variance components).
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.formula.api as smf

warnings.simplefilter("ignore")
path, formula, groups, re_f, vc_json, reml, factors, reps = sys.argv[1:9]
df = pd.read_csv(path)
if factors != "-":
    for f in factors.split(","):
        df[f] = df[f].astype(str)
df["one"] = 1
kw = {}
if re_f != "-":
    kw["re_formula"] = re_f
if vc_json != "-":
    kw["vc_formula"] = json.loads(vc_json)
secs, build = [], []
for _ in range(int(reps)):
    t0 = time.perf_counter()
    model = smf.mixedlm(formula, df, groups=df[groups], **kw)
    t1 = time.perf_counter()
    calls = [0]
    inner = model.loglike

    def counted(*a, **k):
        calls[0] += 1
        return inner(*a, **k)

    model.loglike = counted
    r = model.fit(reml=reml == "1")
    secs.append(time.perf_counter() - t1)
    build.append(t1 - t0)
print(json.dumps({
    "seconds": float(np.median(secs)), "seconds_all": secs,
    "build_seconds": float(np.median(build)),
    "objective": float(-2.0 * r.llf), "evaluations": calls[0],
    "n_obs": int(r.nobs), "fixef": {k: float(v) for k, v in r.fe_params.items()},
    "converged": bool(r.converged), "version": "statsmodels " + statsmodels.__version__,
}))
