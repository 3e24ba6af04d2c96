"""Errors: the engine's message (caret kept) as ValueError/KeyError; panics as exceptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pymixedlm
from pymixedlm import _core


def test_bad_formula_keeps_the_caret(sleepstudy):
    with pytest.raises(ValueError) as e:
        pymixedlm.lmer("Reaction ~ Days + (Days | )", sleepstudy)
    text = str(e.value)
    assert "malformed formula" in text
    lines = text.splitlines()
    caret = [ln for ln in lines if ln.strip() == "^"]
    assert len(caret) == 1  # the caret line under the formula survives
    assert lines[lines.index(caret[0]) - 1].strip() == "Reaction ~ Days + (Days | )"


def test_unknown_column_is_a_key_error_with_the_engine_message(sleepstudy):
    with pytest.raises(KeyError) as e:
        pymixedlm.lmer("Reaction ~ Dayz + (1 | Subject)", sleepstudy)
    assert "Dayz" in str(e.value) and "Days" in str(e.value)
    assert not str(e.value).startswith("'")  # prints as written, not as a repr
    with pytest.raises(KeyError):
        pymixedlm.mixedlm("Reaction ~ Days", sleepstudy, groups="Subjekt")


def test_nan_only_and_one_level_groups(sleepstudy):
    one = sleepstudy.assign(g="a")
    with pytest.raises(ValueError, match="level"):
        pymixedlm.lmer("Reaction ~ Days + (1 | g)", one)
    empty = sleepstudy.assign(Reaction=np.nan)
    with pytest.raises(ValueError, match="rows|missing"):
        pymixedlm.lmer("Reaction ~ Days + (1 | Subject)", empty)
    text = sleepstudy.assign(Reaction=sleepstudy["Reaction"].astype(str))
    with pytest.raises(ValueError, match="response"):
        pymixedlm.lmer("Reaction ~ Days + (1 | Subject)", text)


def test_unsupported_python_in_formulas_names_the_supported_spelling(sleepstudy):
    for formula, word in [("Reaction ~ np.power(Days, 2)", "np.power"),
                          ("Reaction ~ standardize(Days)", "standardize"),
                          ("Reaction ~ Days.astype(int)", "Days.astype")]:
        with pytest.raises(ValueError) as e:
            pymixedlm.mixedlm(formula, sleepstudy, groups="Subject")
        assert word in str(e.value)
        assert "I(" in str(e.value) and "np.log" in str(e.value)
        assert "^" in str(e.value)


def test_a_rust_panic_is_a_python_exception():
    with pytest.raises(RuntimeError, match="internal error"):
        _core.raise_panic_for_tests()


def test_unsupported_statsmodels_fit_arguments(sleepstudy):
    model = pymixedlm.mixedlm("Reaction ~ Days", sleepstudy, groups="Subject")
    with pytest.raises(NotImplementedError, match="free"):
        model.fit(free=object())
    with pytest.raises(ValueError, match="groups is required"):
        pymixedlm.mixedlm("Reaction ~ Days", sleepstudy)


def test_bad_data_type():
    with pytest.raises(TypeError, match="DataFrame"):
        pymixedlm.lmer("y ~ 1 + (1 | g)", [1, 2, 3])
    with pytest.raises(FileNotFoundError):
        pymixedlm.lmer("y ~ 1 + (1 | g)", "no/such/file.csv")
