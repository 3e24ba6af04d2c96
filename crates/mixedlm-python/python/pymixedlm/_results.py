"""The results of a fit, with statsmodels' names and definitions and lme4's functions."""

from __future__ import annotations

import os
import warnings
from functools import cached_property
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from . import _compat, _core
from ._fitted import FittedModel
from ._errors import ConvergenceWarning, engine_errors

if TYPE_CHECKING:  # pragma: no cover
    from ._model import MixedLM


def _norm_sf(x: np.ndarray) -> np.ndarray:
    return np.array([_core.normal_sf(float(v)) for v in np.ravel(x)])


class MixedLMResults(FittedModel):
    """A fitted linear mixed model.

    statsmodels' attributes, with its names, types and indexing: ``params``,
    ``fe_params``, ``bse``, ``bse_fe``, ``bse_re``, ``cov_params()``, ``tvalues``,
    ``pvalues``, ``conf_int()``, ``cov_re``, ``vcomp``, ``scale``, ``llf``, ``aic``,
    ``bic``, ``converged``, ``nobs``, ``random_effects``, ``random_effects_cov``,
    ``fittedvalues``, ``resid``, ``predict()``, ``summary()``. Fixed effects are named as
    patsy names them (``Intercept``, ``sex[T.M]``, ``I(age ** 2)``), variance parameters as
    statsmodels does (``Group Var``, ``Group x age Cov``, ``class Var``).

    lme4's functions, with lme4's names (``(Intercept)``, ``SexMale``): ``fixef()``,
    ``ranef()``, ``VarCorr()``, ``confint()``, ``sigma()``, ``logLik()``, ``REMLcrit()``.

    Beyond both: ``predict(new, level="conditional")``, ``aic_reml``/``bic_reml``,
    ``compare(*others)`` (likelihood-ratio tests), ``confint(method="profile")``,
    ``summary(ddf="satterthwaite")``, ``diagnostics()``, ``plot_diagnostics(dir)``.
    """

    def __repr__(self) -> str:
        return (f"<pymixedlm.MixedLMResults: {self._fit.lme4_formula}, "
                f"{'REML' if self.reml else 'ML'}, nobs={self.nobs}>")

    # ---- the fit ----

    @property
    def reml(self) -> bool:
        """Whether the criterion is REML."""
        return self._fit.reml

    @property
    def method(self) -> str:
        """``"REML"`` or ``"ML"`` (statsmodels' ``method``)."""
        return "REML" if self.reml else "ML"

    @property
    def optimizer(self) -> dict:
        """The optimizer that ran, its evaluations and why it stopped."""
        return self._fit.optimizer()

    @property
    def objective(self) -> float:
        """The optimized criterion: the REML criterion or the ML deviance (−2 log L)."""
        return self._fit.objective

    @property
    def k_re(self) -> int:
        """Random effects per group in the main term (statsmodels' ``k_re``)."""
        return len(self._names.re_names)

    @property
    def k_re2(self) -> int:
        """Covariance parameters of the main term."""
        return self.k_re * (self.k_re + 1) // 2

    @property
    def k_vc(self) -> int:
        return len(self._names.vc_names)

    # ---- fixed effects ----

    @property
    def exog_names(self) -> list[str]:
        """The fixed-effects names (patsy's)."""
        return list(self._names.fe_names)

    @cached_property
    def _joint(self) -> np.ndarray | None:
        """statsmodels' joint covariance of (β, ψ) from the engine (fixed effects in the
        engine's order), when its variance parameters are statsmodels' ``params``; None
        when the engine cannot give it (a fit that kept no rows)."""
        try:
            names, matrix = self._fit.joint_covariance()
        except ValueError:
            return None
        if len(names) != len(self._param_names):
            return None
        return np.asarray(matrix, dtype=float)

    def _psi_unscaled(self) -> np.ndarray:
        cov = np.asarray(self._names.cov_re_matrix, dtype=float) / self.scale
        tril = cov[np.tril_indices(cov.shape[0])]
        return np.concatenate([tril, np.asarray(self._names.vcomp_values) / self.scale])

    @cached_property
    def _cov_all(self) -> tuple[np.ndarray, bool]:
        """The covariance of all params in statsmodels' order, and whether it is joint."""
        p = self.k_fe
        m = len(self._param_names) - p
        joint = self._joint
        perm = self._names.fe_permutation
        if joint is not None and np.all(np.isfinite(np.diag(joint))):
            order = list(perm) + list(range(p, p + m))
            return joint[np.ix_(order, order)], True
        out = np.full((p + m, p + m), np.nan)
        vcov = np.asarray(self._fit.vcov_fe)
        out[:p, :p] = vcov[np.ix_(perm, perm)]
        return out, False

    @property
    def _param_names(self) -> list[str]:
        return list(self._names.fe_names) + self._names.re_param_names

    def cov_params(self) -> Any:
        """statsmodels' covariance of all ``params``: the inverse of the joint information
        of the fixed effects and the scaled variance parameters (residual variance
        profiled out), at the engine's estimate.

        lme4's ``vcov()`` (the fixed effects' covariance with the variance parameters
        taken as known) is :meth:`vcov`; the two agree for balanced data. The joint
        information is the finite-difference Hessian of the engine's profiled criterion
        (on the model's own factorization path, any number of random effects). A
        variance estimated at 0 gets NaN rows and columns; when the information is not
        positive definite, lme4's fixed-effects block and NaN elsewhere.
        """
        cov, _ = self._cov_all
        names = self._param_names
        return _compat.frame(cov, names, names)

    def vcov(self) -> Any:
        """lme4's ``vcov()``: Var(β̂) given the variance parameters (lme4's names)."""
        names = self._fit.fe_names
        return _compat.frame(np.asarray(self._fit.vcov_fe), names, names)

    @cached_property
    def params(self) -> Any:
        """statsmodels' ``params``: the fixed effects, then the main term's covariance
        divided by ``scale`` (lower triangle, row by row), then each variance component
        divided by ``scale``."""
        values = list(self._names.fe_order(self._fit.fe_params)) + list(self._psi_unscaled())
        return _compat.series(values, self._param_names)

    @cached_property
    def bse(self) -> Any:
        """Standard errors of ``params`` (square roots of ``cov_params()``'s diagonal)."""
        cov, _ = self._cov_all
        return _compat.series(np.sqrt(np.diag(cov)), self._param_names)

    @property
    def bse_fe(self) -> Any:
        """Standard errors of the fixed effects, statsmodels' definition (joint
        information; see :meth:`cov_params`). lme4's, which treat the variance parameters
        as known, are ``np.sqrt(np.diag(result.vcov()))``; they agree for balanced data."""
        return self.bse[: self.k_fe]

    @cached_property
    def bse_re(self) -> Any:
        """statsmodels' ``bse_re``: √scale times the standard errors of the scaled variance
        parameters in ``params`` (the numbers statsmodels' summary prints beside the
        variances), from the engine's information on them. lme4 gives no standard errors
        for variances; profile intervals are ``confint(method="profile")``. NaN for a
        variance estimated at 0 (and its covariances), and where :meth:`cov_params` has
        no joint information."""
        names = self._names.re_param_names
        try:
            rows = self._fit.variance_se()
        except ValueError:
            rows = []
        if len(rows) != len(names):
            return _compat.series([float("nan")] * len(names), names)
        return _compat.series([se for _, _, se in rows], names)

    @property
    def tvalues(self) -> Any:
        """``params / bse`` (Wald z statistics)."""
        return self.params / self.bse

    @property
    def pvalues(self) -> Any:
        """Two-sided p-values of ``tvalues`` against the standard normal (as statsmodels).
        t tests with Satterthwaite or Kenward-Roger degrees of freedom:
        :meth:`fixed_effect_tests`."""
        t = np.asarray(self.tvalues, dtype=float)
        return _compat.series(2 * _norm_sf(np.abs(t)), self._param_names)

    def conf_int(self, alpha: float = 0.05, cols: Any = None) -> Any:
        """Wald intervals ``params ± z·bse`` at level 1 − alpha (columns 0 and 1)."""
        q = _core.normal_quantile(1 - alpha / 2)
        p = np.asarray(self.params, dtype=float)
        se = np.asarray(self.bse, dtype=float)
        out = np.column_stack([p - q * se, p + q * se])
        if _compat.pd is None:
            return out
        return _compat.pd.DataFrame(out, index=self._param_names, columns=[0, 1])

    # ---- variance components ----

    @property
    def scale(self) -> float:
        """The residual variance σ̂²."""
        return self._fit.sigma ** 2

    @property
    def cov_re(self) -> Any:
        """The main term's random-effects covariance matrix (names: ``Group``, ``age``)."""
        names = self._names.re_names
        return _compat.frame(self._names.cov_re_matrix, names, names)

    @property
    def cov_re_unscaled(self) -> Any:
        """``cov_re / scale``."""
        return self.cov_re / self.scale

    # ---- likelihood ----

    @property
    def aic(self) -> float:
        """AIC; NaN for REML fits, as statsmodels (lme4's REML AIC is :attr:`aic_reml`)."""
        return self._fit.aic if not self.reml else float("nan")

    @property
    def bic(self) -> float:
        """BIC; NaN for REML fits, as statsmodels (lme4's REML BIC is :attr:`bic_reml`)."""
        return self._fit.bic if not self.reml else float("nan")

    @property
    def aic_reml(self) -> float:
        """AIC from the fit's own log-likelihood, also under REML (lme4's ``AIC``)."""
        return self._fit.aic

    @property
    def bic_reml(self) -> float:
        """BIC from the fit's own log-likelihood, also under REML (lme4's ``BIC``)."""
        return self._fit.bic

    @property
    def df_modelwc(self) -> int:
        """Number of parameters, the residual variance excluded (statsmodels)."""
        return self.k_fe + self.k_re2 + self.k_vc

    # ---- random effects and rows ----

    @cached_property
    def random_effects_cov(self) -> dict:
        """The conditional covariance of each group's random effects: ``{group:
        DataFrame}`` (statsmodels' definition, given the fixed effects). For a model
        without statsmodels' structure (crossed factors, an lme4 formula whose terms are
        not nested in one grouping factor) the groups' effects are not independent of the
        other factors' and statsmodels has no such model: the diagonal holds the engine's
        conditional variances (lme4's ``condVar``) and the off-diagonal entries are NaN."""
        return self._names.random_effects_cov(self)

    @property
    def fittedvalues(self) -> Any:
        """Fitted values X β̂ + Z b̂ of the rows used, indexed as the data."""
        return _compat.series(self._fit.fittedvalues(), self._rows)

    @property
    def resid(self) -> Any:
        """Residuals y − fittedvalues, indexed as the data."""
        return _compat.series(self._fit.resid(), self._rows)

    def predict(self, exog: Any = None, level: str = "population", new_levels: str = "population") -> Any:
        """Predictions for new data (or the fitted data when ``exog`` is None).

        ``level="population"`` (the default, statsmodels' ``predict``): X β̂. With
        ``level="conditional"``: X β̂ + Z b̂ with each known group's random effects (a
        group not seen in fitting gets the population prediction, or an error with
        ``new_levels="error"``); the new data then need the grouping column. Rows with a
        missing value get NaN.
        """
        return self._predict(exog, level=level, new_levels=new_levels)

    # ---- printing ----

    def summary(self, yname: str | None = None, xname_fe: Sequence[str] | None = None,
                xname_re: Sequence[str] | None = None, title: str | None = None,
                alpha: float = 0.05, ddf: str | None = None) -> "Summary":
        """The summary as statsmodels prints it; ``print(result.summary())``.

        ``ddf="satterthwaite"`` or ``"kenward-roger"`` replaces the z tests of the fixed
        effects by t tests with those degrees of freedom (lmerTest's and pbkrtest's).
        """
        from ._summary import Summary

        return Summary(self, yname=yname, xname_fe=xname_fe, xname_re=xname_re, title=title,
                       alpha=alpha, ddf=ddf)

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    # ---- beyond statsmodels ----

    def fixed_effect_tests(self, ddf: str = "satterthwaite") -> Any:
        """Tests of the fixed effects: ``Estimate``, ``Std. Error``, ``df``, ``t value``,
        ``Pr(>|t|)`` (lmerTest's columns) with ``ddf`` = ``"satterthwaite"``,
        ``"kenward-roger"`` or ``"z"``; indexed by lme4's names."""
        with engine_errors():
            rows = self._fit.fixed_effect_tests(ddf)
        names = [r[0] for r in rows]
        cols = {"Estimate": [r[1] for r in rows], "Std. Error": [r[2] for r in rows],
                "df": [np.nan if r[4] is None else r[4] for r in rows],
                "t value": [r[3] for r in rows], "Pr(>|t|)": [r[5] for r in rows]}
        return _compat.table(cols, names)

    def compare(self, *others: "MixedLMResults") -> Any:
        """Likelihood-ratio tests of this model against others fitted to the same rows
        (lme4's ``anova``; REML fits are refitted by ML, as lme4 does)."""
        from ._lme4 import anova

        return anova(self, *others)

    def diagnostics(self, influence: bool = False) -> list[dict]:
        """Checks of the fit (convergence, singularity, residual and random-effect
        normality, sample sizes; influence on request): one dict per finding with
        ``severity``, ``code``, ``text`` and ``advice``."""
        with engine_errors():
            msgs = self._fit.diagnostics(influence=influence)
        return [dict(zip(("severity", "code", "text", "advice"), m)) for m in msgs]

    def plot_diagnostics(self, directory: str | os.PathLike, format: str = "svg") -> list[str]:
        """Write the diagnostic plots (Q-Q, residuals vs fitted, scale-location,
        caterpillar) into ``directory``; returns the files written."""
        with engine_errors():
            return [str(p) for p in self._fit.write_plots(os.fspath(directory), format)]

    def simulate(self, nsim: int = 1, seed: int = 42) -> np.ndarray:
        """``nsim`` response vectors drawn from the fitted model (lme4's ``simulate``)."""
        with engine_errors():
            return np.column_stack(self._fit.simulate(nsim, seed))

    # ---- lme4's functions ----

    def VarCorr(self) -> Any:
        """lme4's ``as.data.frame(VarCorr())``: ``grp``, ``var1``, ``var2``, ``vcov``, ``sdcor``."""
        return self._names.varcorr(self)

    def confint(self, parm: Any = None, level: float = 0.95, method: str = "profile",
                nsim: int = 500, seed: int = 42) -> Any:
        """lme4's ``confint()``: ``method="profile"`` (default, as lme4), ``"wald"`` or
        ``"bootstrap"``; rows named as lme4 (``sd_(Intercept)|Subject``, ``sigma``,
        ``(Intercept)``), columns ``2.5 %`` and ``97.5 %``."""
        with engine_errors():
            rows = self._fit.confint(method=method, level=level, nsim=nsim, seed=seed)
        lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
        names = [r[0] for r in rows]
        out = _compat.table({f"{lo:g} %": [r[1] for r in rows], f"{hi:g} %": [r[2] for r in rows]}, names)
        if parm is not None and _compat.pd is not None:
            out = out.loc[list(parm) if not isinstance(parm, str) else [parm]]
        return out

    def sigma(self) -> float:
        """lme4's ``sigma()``: the residual standard deviation."""
        return self._fit.sigma

    def REMLcrit(self) -> float:
        """lme4's ``REMLcrit()`` (REML fits)."""
        if not self.reml:
            raise ValueError("REMLcrit() needs a REML fit; this one is ML (see objective)")
        return self._fit.objective

    def _warn(self) -> None:
        for text in self._fit.warnings:
            if text not in self.model._spec_warnings:  # those were raised with the model
                warnings.warn(text, UserWarning, stacklevel=3)
        if not self.converged:
            o = self.optimizer
            warnings.warn(
                f"the optimizer ({o['optimizer']}) did not converge: {o['termination']}; try "
                "another method (e.g. method=\"bobyqa\") or a larger maxiter",
                ConvergenceWarning, stacklevel=3)
        elif self.singular:
            warnings.warn(
                "the fit is singular: a variance is estimated at (or next to) zero, on the "
                "boundary of the parameter space; consider simplifying the random effects",
                ConvergenceWarning, stacklevel=3)
