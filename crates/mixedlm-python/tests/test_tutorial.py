"""statsmodels' mixed-model tutorial with only the import changed, against statsmodels'
own estimates on the same simulated data (stored by make_statsmodels_reference.py).

Tolerances: statsmodels stops its optimizers loosely (relative changes near 1e-6), so
estimates agree to about 1e-4 relative and the log-likelihood to 1e-6 relative where
statsmodels reaches the optimum; standard errors (statsmodels' analytic Hessian, here a
numerical one at a slightly different point) to 1e-3 relative.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import pymixedlm as smf  # instead of: import statsmodels.formula.api as smf
from tutorial_data import clinics, many_schools, new_students, schools


def close(got, want, rel, floor=0.0, what=""):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    tol = rel * np.abs(want) + floor
    assert np.all(np.abs(got - want) <= tol), f"{what}: {got} vs {want}"


def check(result, ref, se_rel=1e-3):
    """Estimates equal statsmodels' (which reached the optimum: checked here too)."""
    assert ref["converged"]
    assert list(result.params.index) == ref["param_names"]
    assert abs(result.llf - ref["llf"]) <= 1e-6 * abs(ref["llf"]) + 1e-6
    assert result.llf >= ref["llf"] - 1e-7 * abs(ref["llf"])  # never below statsmodels
    fe = pd.Series(ref["fe_params"])
    close(result.fe_params, fe, 1e-4, 1e-4 * pd.Series(ref["bse_fe"]), "fe_params")
    params = pd.Series(ref["params"])
    psi = params.iloc[len(fe):]
    floor = 1e-3 * psi[[n for n in psi.index if n.endswith("Var")]].max()
    close(result.params[psi.index], psi, 2e-3, floor, "variance parameters")
    close(result.scale, ref["scale"], 1e-4, 0, "scale")
    close(result.cov_re, ref["cov_re"], 1e-3, 1e-6, "cov_re")
    assert list(result.cov_re.index) == ref["cov_re_names"]
    close(result.vcomp, ref["vcomp"], 1e-3, 1e-6, "vcomp")
    close(result.bse, pd.Series(ref["bse"])[result.bse.index], se_rel, 1e-8, "bse")
    close(result.bse_fe, pd.Series(ref["bse_fe"]), se_rel, 0, "bse_fe")
    close(result.bse_re, ref["bse_re"], se_rel, 1e-8, "bse_re")
    assert result.nobs == ref["nobs"]
    sd = np.sqrt(np.max(np.diag(np.atleast_2d(result.cov_re)), initial=0.0) + max(result.vcomp, default=0.0))
    for group, effects in ref["random_effects"].items():
        got = result.random_effects[int(group)] if group.isdigit() else result.random_effects[group]
        want = pd.Series(effects)
        assert list(got.index) == list(want.index)
        close(got, want, 1e-3, 1e-3 * sd, f"random_effects[{group}]")
    for group, cov in ref["random_effects_cov"].items():
        got = result.random_effects_cov[int(group)] if group.isdigit() else result.random_effects_cov[group]
        close(got, cov, 2e-3, 1e-6, f"random_effects_cov[{group}]")
    if ref["aic"] is None:
        assert np.isnan(result.aic) and np.isnan(result.bic)
    else:
        close(result.aic, ref["aic"], 1e-8, 1e-6, "aic")
        close(result.bic, ref["bic"], 1e-8, 1e-6, "bic")


def test_random_intercepts(tutorial_reference):
    data = schools()
    model = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"])
    result = model.fit()
    text = str(result.summary())
    assert "Mixed Linear Model Regression Results" in text and "Group Var" in text
    check(result, tutorial_reference["examples"]["random_intercepts"])


def test_random_slopes(tutorial_reference):
    data = schools()
    model = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                        re_formula="~study_hours")
    result = model.fit()
    check(result, tutorial_reference["examples"]["random_slopes"])
    assert "Group x study_hours Cov" in result.params.index
    # the summary prints as statsmodels' does: same lines, digits aside
    import re

    ours = str(result.summary()).splitlines()
    theirs = tutorial_reference["examples"]["random_slopes"]["summary"].splitlines()
    assert [re.sub(r"\d", "0", ln) for ln in ours] == [re.sub(r"\d", "0", ln) for ln in theirs]
    # random_effects: group -> Series, integer school IDs stay integers
    assert all(isinstance(k, int) for k in result.random_effects)
    assert list(result.random_effects[101].index) == ["Group", "study_hours"]


def test_joint_information_beyond_a_thousand_random_effects(tutorial_reference):
    """statsmodels' cov_params/bse/bse_re with 1,200 random effects: the engine's own path
    gives the joint information at any size (it once fell back to NaN above 1,000)."""
    data = many_schools()
    result = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                         re_formula="~study_hours").fit()
    assert np.all(np.isfinite(np.diag(np.asarray(result.cov_params()))))
    check(result, tutorial_reference["examples"]["many_schools_slopes"])


def test_powell_reaches_the_optimum_statsmodels_powell_misses(tutorial_reference):
    """statsmodels' Powell stops short here (log-likelihood -2435.0362 against -2435.0322 at
    the optimum its BFGS finds); ours reaches the optimum, so it is compared with that."""
    data = schools()
    model = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                        re_formula="~study_hours")
    result = model.fit(method="powell")
    assert result.optimizer["optimizer"] == "powell"
    sm_powell = tutorial_reference["examples"]["powell"]
    assert result.llf > sm_powell["llf"] + 1e-3
    check(result, tutorial_reference["examples"]["random_slopes"], se_rel=2e-3)


def test_method_list_and_statsmodels_names():
    data = schools()
    model = smf.mixedlm("test_score ~ study_hours", data, groups="school_id")
    r1 = model.fit(method=["lbfgs"])
    r2 = model.fit(method=["nm", "bfgs"])
    assert abs(r1.llf - r2.llf) < 1e-6
    assert r1.optimizer["optimizer"] == "bfgs"
    # a groups column given by name labels the group effect by that name, as statsmodels
    assert "school_id Var" in r1.params.index
    with pytest.raises(ValueError, match="unknown method"):
        model.fit(method="simplex")


def test_aic_comparison(tutorial_reference):
    """Likelihood-based comparison needs ML fits: AIC is NaN under REML, as statsmodels."""
    data = schools()
    m_int = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"])
    m_slope = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                          re_formula="~study_hours")
    reml = m_int.fit()
    assert np.isnan(reml.aic) and np.isfinite(reml.aic_reml)
    r_int = m_int.fit(reml=False)
    r_slope = m_slope.fit(reml=False)
    check(r_int, tutorial_reference["examples"]["intercepts_ml"])
    check(r_slope, tutorial_reference["examples"]["slopes_ml"])
    assert r_slope.aic < r_int.aic
    table = smf.compare(r_int, r_slope)
    assert list(table.columns) == ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    chisq = 2 * (r_slope.llf - r_int.llf)
    assert abs(table["Chisq"].iloc[1] - chisq) < 1e-4
    assert table["Df"].iloc[1] == 2


def test_population_and_school_specific_prediction(tutorial_reference):
    data = schools()
    result = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                         re_formula="~study_hours").fit()
    new = new_students()
    population = result.predict(new)
    close(population, tutorial_reference["examples"]["random_slopes"]["predict_new"], 1e-4, 1e-6,
          "population prediction")
    fe = result.fe_params
    close(population, fe["Intercept"] + fe["study_hours"] * new["study_hours"], 1e-12, 1e-9)
    # the tutorial's school-specific prediction, by hand and by level="conditional"
    school = result.predict(new, level="conditional")
    for i, row in new.iterrows():
        re = result.random_effects.get(int(row["school_id"]))
        expected = fe["Intercept"] + fe["study_hours"] * row["study_hours"]
        if re is not None:
            expected += re["Group"] + re["study_hours"] * row["study_hours"]
        assert abs(school.iloc[i] - expected) < 1e-9
    assert school.iloc[2] == population.iloc[2]  # school 999 was not in the data
    assert list(school.index) == list(new.index)
    # fitted values are conditional and indexed as the data
    assert result.fittedvalues.index.equals(data.index)
    close(result.fittedvalues + result.resid, data["test_score"], 1e-12, 1e-9)


def test_clinic_model(tutorial_reference):
    data = clinics()
    result = smf.mixedlm("blood_pressure ~ treatment + age + sex", data, groups=data["clinic"]).fit()
    check(result, tutorial_reference["examples"]["clinic"])
    assert result.params["treatment[T.placebo]"] > 5  # the drug lowers blood pressure
    assert result.pvalues["treatment[T.placebo]"] < 1e-6
    ci = result.conf_int()
    assert ci.loc["sex[T.M]", 0] < result.params["sex[T.M]"] < ci.loc["sex[T.M]", 1]
    assert set(result.random_effects) == set(data["clinic"])


def test_derived_columns_as_statsmodels_users_write_them(tutorial_reference):
    data = clinics()
    formula = ("blood_pressure ~ C(treatment, Treatment('placebo')) + sex + I(age ** 2) "
               "+ np.log(age)")
    result = smf.mixedlm(formula, data, groups=data["clinic"]).fit()
    check(result, tutorial_reference["examples"]["clinic_derived"], se_rel=2e-3)
    assert result.params["I(age ** 2)"] == result.fe_params["I(age ** 2)"]


def test_vc_formula_classes_within_schools(tutorial_reference):
    data = schools()
    result = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                         re_formula="1", vc_formula={"class": "0 + C(class_id)"}).fit()
    check(result, tutorial_reference["examples"]["classes_vc"])
    assert result.random_effects[101].index[1] == "class[C(class_id)[1]]"


def test_vc_formula_without_re_formula_fits_statsmodels_model_and_warns(tutorial_reference):
    data = schools()
    with pytest.warns(smf.ModelSpecificationWarning, match='re_formula="1"'):
        model = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                            vc_formula={"class": "0 + C(class_id)"})
    result = model.fit()
    check(result, tutorial_reference["examples"]["classes_vc_only"])
    assert "Group Var" not in result.params.index


def test_convergence_warning_category():
    data = schools()
    model = smf.mixedlm("test_score ~ study_hours", data, groups=data["school_id"],
                        re_formula="~study_hours")
    with pytest.warns(smf.ConvergenceWarning):
        result = model.fit(method="nelder-mead", maxiter=12)
    assert not result.converged
    assert issubclass(smf.ConvergenceWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit()  # a converged, regular fit warns nothing


def test_statsmodels_array_interface(sleepstudy):
    """sm.MixedLM(endog, exog, groups, exog_re), as statsmodels' own examples use it."""
    data = sleepstudy.assign(Intercept=1.0)
    exog = data[["Intercept", "Days"]]
    model = smf.MixedLM(data["Reaction"], exog, groups=data["Subject"], exog_re=exog["Intercept"])
    result = model.fit()
    formula = smf.mixedlm("Reaction ~ Days", sleepstudy, groups=sleepstudy["Subject"]).fit()
    assert abs(result.llf - formula.llf) < 1e-6
    assert list(result.fe_params.index) == ["Intercept", "Days"]
    assert list(result.cov_re.index) == ["Intercept"]
