"""The lme4 idiom: ``lmer()``, and lme4's generic functions as Python functions."""

from __future__ import annotations

import warnings
from typing import Any

from . import _compat, _core
from ._errors import engine_errors
from ._model import MixedLM
from ._results import MixedLMResults


def lmer(formula: str, data: Any, REML: bool = True, method: str | None = None,
         maxiter: int | None = None) -> MixedLMResults:
    """lme4's ``lmer(formula, data, REML = TRUE)``: a model from one lme4 formula.

    ``pymixedlm.lmer("Reaction ~ Days + (Days | Subject)", data)``. The formula is lme4's
    (``(x | g)`` correlated, ``(x || g)`` uncorrelated, ``(1 | a/b)`` nested,
    ``(1 | a) + (1 | b)`` crossed; ``I(x^2)``, ``log(x)``, ``poly(x, 2)``, ``factor(x)``,
    ``scale(x)`` with R's meanings). Returns the same :class:`MixedLMResults` as the
    statsmodels idiom: ``fixef()``, ``ranef()``, ``VarCorr()``, ``confint()`` with lme4's
    names, and statsmodels' attributes too.
    """
    model = MixedLM(formula, data, groups=None, _idiom="lme4")
    return model.fit(reml=REML, method=method, maxiter=maxiter)


def fixef(result: MixedLMResults) -> Any:
    """lme4's ``fixef(m)``."""
    return result.fixef()


def ranef(result: MixedLMResults) -> dict:
    """lme4's ``ranef(m)``."""
    return result.ranef()


def VarCorr(result: MixedLMResults) -> Any:
    """lme4's ``as.data.frame(VarCorr(m))``."""
    return result.VarCorr()


def confint(result: MixedLMResults, parm: Any = None, level: float = 0.95,
            method: str = "profile", nsim: int = 500, seed: int = 42) -> Any:
    """lme4's ``confint(m, method = "profile" | "Wald" | "boot")``."""
    return result.confint(parm=parm, level=level, method=method.lower(), nsim=nsim, seed=seed)


def anova(*results: MixedLMResults) -> Any:
    """lme4's ``anova(m0, m1, ...)``: likelihood-ratio tests of nested models fitted to the
    same rows, one row per model (sorted by number of parameters) with ``npar``, ``AIC``,
    ``BIC``, ``logLik``, ``deviance``, ``Chisq``, ``Df``, ``Pr(>Chisq)``. REML fits are
    refitted by ML first, as lme4 does (a warning says so)."""
    if len(results) < 2:
        raise ValueError("anova() compares at least two models, e.g. anova(m0, m1)")
    with engine_errors():
        table = _core.anova([r._fit for r in results])
    if table.pop("refit_ml"):
        warnings.warn("refitting the REML fits by ML for the likelihood-ratio tests (as lme4 does)",
                      UserWarning, stacklevel=2)
    names = table.pop("name")
    return _compat.table(table, names)


compare = anova
__all__ = ["lmer", "fixef", "ranef", "VarCorr", "confint", "anova", "compare"]
