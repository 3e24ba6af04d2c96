"""Write statsmodels' results on the tutorial examples to data/statsmodels_tutorial.json.

Run by hand (needs statsmodels; the tests do not): ``python make_statsmodels_reference.py``.
Each example is fitted with statsmodels exactly as ``tutorial_data.EXAMPLES`` gives it.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import statsmodels
import statsmodels.formula.api as smf

from tutorial_data import DATA, EXAMPLES, new_students


def jsonable(x):
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if hasattr(x, "to_dict"):
        return jsonable(x.to_dict())
    if isinstance(x, (np.ndarray, list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def main() -> None:
    out = {"statsmodels": statsmodels.__version__, "examples": {}}
    for name, (dataset, args, fit_args) in EXAMPLES.items():
        data = DATA[dataset]()
        args = dict(args)
        formula = args.pop("formula")
        groups = args.pop("groups")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = smf.mixedlm(formula, data, groups=data[groups], **args)
            r = model.fit(**fit_args)
        first = list(r.random_effects)[:3]
        entry = {
            "param_names": list(r.params.index),
            "params": jsonable(r.params),
            "fe_params": jsonable(r.fe_params),
            "bse": jsonable(r.bse),
            "bse_fe": jsonable(r.bse_fe),
            # statsmodels' bse_re fails to label variance components; its definition:
            "bse_re": jsonable(np.sqrt(r.scale * np.diag(np.asarray(r.cov_params()))[len(r.fe_params):])),
            "cov_re": jsonable(np.asarray(r.cov_re)),
            "cov_re_names": list(r.cov_re.index),
            "vcomp": jsonable(np.asarray(r.vcomp)),
            "scale": float(r.scale),
            "llf": float(r.llf),
            "aic": jsonable(r.aic),
            "bic": jsonable(r.bic),
            "converged": bool(r.converged),
            "nobs": int(r.nobs),
            "summary": str(r.summary()),
            "random_effects": {str(g): jsonable(r.random_effects[g]) for g in first},
            "random_effects_cov": {str(g): jsonable(np.asarray(r.random_effects_cov[g])) for g in first[:1]},
        }
        if dataset == "schools":
            entry["predict_new"] = jsonable(np.asarray(r.predict(new_students())))
        out["examples"][name] = entry
    path = pathlib.Path(__file__).parent / "data" / "statsmodels_tutorial.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
