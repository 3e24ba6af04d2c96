"""The lme4 idiom: lmer, fixef, ranef, VarCorr, confint, anova, with lme4's names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pymixedlm
from pymixedlm import VarCorr, anova, confint, fixef, lmer, ranef
from conftest import reference


def test_lmer_sleepstudy(sleepstudy):
    ref = reference("01_sleepstudy_reml.json")
    m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy, REML=True)
    assert list(fixef(m).index) == ["(Intercept)", "Days"]
    assert abs(m.REMLcrit() - ref["objective"]) < 1e-5
    re = ranef(m)["Subject"]
    assert list(re.columns) == ["(Intercept)", "Days"] and re.index[0] == 308
    vc = VarCorr(m)
    assert list(vc.columns) == ["grp", "var1", "var2", "vcov", "sdcor"]
    assert abs(vc["sdcor"].iloc[0] - 24.7407) < 1e-3
    assert vc["grp"].iloc[-1] == "Residual"


def test_confint_profile_and_wald(sleepstudy):
    m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    prof = confint(m)
    assert list(prof.columns) == ["2.5 %", "97.5 %"]
    assert list(prof.index) == ["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject",
                                "sd_Days|Subject", "sigma", "(Intercept)", "Days"]
    # lme4: sd_(Intercept)|Subject 14.3815 37.7160 (profile, ML deviance)
    assert abs(prof.loc["sd_(Intercept)|Subject", "2.5 %"] - 14.3815) < 0.05
    wald = confint(m, method="Wald")
    assert abs(wald.loc["Days", "97.5 %"] - (10.4673 + 1.959964 * 1.5458)) < 1e-3


def test_anova_refits_by_ml(sleepstudy):
    m0 = lmer("Reaction ~ Days + (1 | Subject)", sleepstudy)
    m1 = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    with pytest.warns(UserWarning, match="refitting"):
        a = anova(m0, m1)
    assert abs(a["Chisq"].iloc[1] - 42.1393) < 1e-3  # lme4: 42.139
    assert a["Df"].iloc[1] == 2
    assert np.isnan(a["Chisq"].iloc[0])


def test_satterthwaite_and_kenward_roger(sleepstudy):
    m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    t = m.fixed_effect_tests("satterthwaite")
    assert abs(t.loc["Days", "df"] - 17.0) < 1e-2
    kr = m.fixed_effect_tests("kenward-roger")
    assert abs(kr.loc["Days", "df"] - 17.0) < 1e-2
    text = str(m.summary(ddf="satterthwaite"))
    assert "P>|t|" in text and "df" in text


def test_diagnostics_and_plots(tmp_path):
    import pandas as pd
    from conftest import DATA

    data = pd.read_csv(DATA / "dyestuff2.csv")
    with pytest.warns(pymixedlm.ConvergenceWarning, match="singular"):
        m = lmer("Yield ~ 1 + (1 | Batch)", data)
    codes = [d["code"] for d in m.diagnostics()]
    assert "singular" in codes
    files = m.plot_diagnostics(tmp_path)
    assert any(f.endswith("caterpillar_Batch.svg") for f in files)


def test_crossed_and_nested(pastes):
    m = lmer("strength ~ 1 + (1 | batch/cask)", pastes)
    assert abs(m.llf - (-123.495)) < 1e-2  # statsmodels stops at -123.824
    assert set(m.ranef()) == {"batch", "batch:cask"}
    sm = pymixedlm.mixedlm("strength ~ 1", pastes, groups="batch", re_formula="1",
                           vc_formula={"cask": "0 + C(cask)"}).fit()
    assert abs(sm.llf - m.llf) < 1e-6
    assert list(sm.params.index) == ["Intercept", "batch Var", "cask Var"]
    assert np.isfinite(sm.bse_re).all()


def test_crossed_model_has_statsmodels_joint_information():
    """Crossed factors: statsmodels fits them as variance components of one all-data group;
    its bse_fe (joint information) and bse_re come from the engine for the lme4 formula
    too (statsmodels 0.15, lbfgs, converged at lme4's REML optimum -165.4303)."""
    from conftest import DATA

    data = pd.read_csv(DATA / "penicillin.csv")
    m = lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", data)
    assert abs(m.llf - (-165.4302945)) < 1e-5
    assert list(m.bse_re.index) == ["plate Var", "sample Var"]
    assert np.allclose(m.bse_re, [0.45072492, 4.39773907], rtol=2e-3)
    assert abs(m.bse_fe.iloc[0] - 0.8085645) < 2e-3 * 0.8085645
    assert np.isfinite(np.asarray(m.cov_params())).all()
    # the groups' effects are not independent of the other factor's: no off-diagonal
    cov = m.random_effects_cov
    assert all(np.isfinite(np.diag(np.asarray(c))).all() for c in cov.values())
