"""statsmodels' names and order (patsy's), lme4's names, and the formula translation."""

from __future__ import annotations

import json

import numpy as np
import pytest

import pymixedlm
from pymixedlm._formula import translate
from conftest import REFERENCE


def test_patsy_names_and_order_on_mathachieve(mathachieve):
    sm = json.loads((REFERENCE / "statsmodels_0.15.json").read_text())["mathachieve_slopes_reml"]
    r = pymixedlm.mixedlm("MathAch ~ SES + MEANSES + Sex + Minority", mathachieve,
                          groups=mathachieve["School"], re_formula="~SES").fit()
    assert list(r.fe_params.index) == list(sm["fe"])  # Intercept, Sex[T.Male], Minority[T.Yes], SES, MEANSES
    for name, value in sm["fe"].items():
        assert abs(r.fe_params[name] - value) < 1e-4 * abs(value)
        assert abs(r.bse_fe[name] - sm["bse_fe"][name]) < 2e-3 * sm["bse_fe"][name]
    assert abs(r.llf - sm["llf"]) < 1e-4
    assert list(r.cov_re.index) == ["Group", "SES"]
    assert np.allclose(r.cov_re, sm["cov_re"], rtol=2e-3)
    assert list(r.fixef().index) == ["(Intercept)", "SES", "MEANSES", "SexMale", "MinorityYes"]
    assert r.fixef()["SexMale"] == r.fe_params["Sex[T.Male]"]


def test_interactions_and_derived_names(mathachieve):
    r = pymixedlm.mixedlm("MathAch ~ SES * Sex + I(SES ** 2)", mathachieve, groups="School").fit()
    assert list(r.fe_params.index) == ["Intercept", "Sex[T.Male]", "SES", "SES:Sex[T.Male]", "I(SES ** 2)"]
    assert list(r.fixef().index) == ["(Intercept)", "SES", "SexMale", "I(SES^2)", "SES:SexMale"]


@pytest.mark.parametrize("patsy, engine", [
    ("y ~ x", "y ~ x"),
    ("y ~ I(x**2) + np.log(z)", "y ~ I(x^2) + log(z)"),
    ("y ~ C(g, Treatment('b')) - 1", "y ~ C(g, Treatment(reference = 'b')) - 1"),
    ("Q('yield') ~ C(block)", "`yield` ~ C(block)"),
    ("y ~ (a + b)**2", "y ~ (a + b) ^ 2"),
    ("y ~ numpy.sqrt(x) : C(g, Sum)", "y ~ sqrt(x) : C(g, Sum)"),
])
def test_translation(patsy, engine):
    assert translate(patsy).engine.replace(" ", "") == engine.replace(" ", "")


def test_q_names_a_column_like_a_keyword():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(10), 8)
    data = {"yield": rng.normal(size=80) + rng.normal(size=10)[g], "lambda": rng.normal(size=80), "g": g}
    r = pymixedlm.mixedlm("Q('yield') ~ Q('lambda')", data, groups="g").fit()
    assert list(r.fe_params.index) == ["Intercept", "Q('lambda')"]
