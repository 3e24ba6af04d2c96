"""Generalized linear mixed models (binomial and Poisson responses): lme4's ``glmer()`` and
a statsmodels-style model class, both fitted by the engine (Laplace approximation or
adaptive Gauss-Hermite quadrature, as lme4 defines them)."""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from . import _compat, _core
from ._fitted import FittedModel
from ._errors import ConvergenceWarning, engine_errors
from ._model import MixedLM

# statsmodels' family and link classes -> the engine's names
_FAMILIES = {"binomial": "binomial", "poisson": "poisson"}
_LINKS = {"logit": "logit", "probit": "probit", "cloglog": "cloglog", "log": "log"}


def _name_of(spec: Any, table: dict[str, str], what: str) -> str | None:
    """A family or link given as a name (``"binomial"``) or as a statsmodels object
    (``sm.families.Binomial()``, ``sm.families.links.Probit()``)."""
    if spec is None:
        return None
    name = spec if isinstance(spec, str) else type(spec).__name__
    key = name.lower().replace("_", "").replace("-", "")
    if key in table:
        return table[key]
    raise ValueError(f"unknown {what} {name!r}; use one of: {', '.join(sorted(set(table.values())))}")


def _family_and_link(family: Any, link: Any) -> tuple[str, str | None]:
    fam = _name_of(family, _FAMILIES, "family")
    assert fam is not None
    if link is None and not isinstance(family, str):
        # a statsmodels family object carries its link
        link = getattr(family, "link", None)
    return fam, _name_of(link, _LINKS, "link")


class MixedGLM(MixedLM):
    """A generalized linear mixed model, statsmodels-style: a fixed-effects formula, the
    ``groups``, and optionally ``re_formula`` and ``vc_formula`` as for
    :class:`~pymixedlm.MixedLM`; ``family`` ``"binomial"`` (a 0/1 response, or a
    proportion with ``weights`` = the numbers of trials) or ``"poisson"``, as a name or a
    statsmodels family object; ``link`` the family's canonical one unless given
    (binomial: ``"logit"``, ``"probit"``, ``"cloglog"``; Poisson: ``"log"``).

    ``weights`` and ``offset`` are column names or one value per row.

    Examples
    --------
    >>> import pymixedlm
    >>> model = pymixedlm.mixedglm("passed ~ hours", data, groups=data["school"],
    ...                            family="binomial")
    >>> result = model.fit()                 # Laplace; fit(nAGQ=9) for quadrature
    >>> result.params, result.bse, result.random_effects
    """

    def __init__(self, formula: str, data: Any = None, groups: Any = None, re_formula: Any = None,
                 vc_formula: Mapping[str, str] | None = None, family: Any = "binomial",
                 link: Any = None, weights: Any = None, offset: Any = None, missing: str = "drop",
                 _idiom: str = "statsmodels"):
        self.family, self.link = _family_and_link(family, link)
        self._weights_arg, self._offset_arg = weights, offset
        super().__init__(formula, data, groups=groups, re_formula=re_formula,
                         vc_formula=vc_formula, missing=missing, _idiom=_idiom)
        with engine_errors():
            _core.check_glmm(self._model_args, self._glmm_args(1))

    def _more_data(self) -> tuple[list[str], dict]:
        columns: list[str] = []
        extra: dict = {}
        self._weights_column = self._column_for(self._weights_arg, "_weights", columns, extra)
        self._offset_column = self._column_for(self._offset_arg, "_offset", columns, extra)
        return columns, extra

    @staticmethod
    def _column_for(arg: Any, name: str, columns: list[str], extra: dict) -> str | None:
        if arg is None:
            return None
        if isinstance(arg, str):
            columns.append(arg)
            return arg
        extra[name] = np.asarray(arg, dtype=float)
        return name

    def _glmm_args(self, nagq: int) -> dict:
        return {"family": self.family, "link": self.link, "nagq": int(nagq),
                "weights": self._weights_column, "offset": self._offset_column}

    @classmethod
    def from_formula(cls, formula: str, data: Any, re_formula: str | None = None,  # type: ignore[override]
                     vc_formula: Mapping[str, str] | None = None, subset: Any = None,
                     use_sparse: bool = False, missing: str = "drop", *args: Any,
                     groups: Any = None, family: Any = "binomial", link: Any = None,
                     weights: Any = None, offset: Any = None, **kwargs: Any) -> "MixedGLM":
        """Create a model from a formula and data (statsmodels' signature, plus
        ``family``, ``link``, ``weights`` and ``offset``)."""
        if args:
            groups = args[0] if groups is None else groups
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        if subset is not None:
            data = data.loc[subset] if hasattr(data, "loc") else data[subset]
        return cls(formula, data, groups=groups, re_formula=re_formula, vc_formula=vc_formula,
                   family=family, link=link, weights=weights, offset=offset, missing=missing)

    def fit(self, nAGQ: int = 1, **kwargs: Any) -> "GLMMResults":  # type: ignore[override]
        """Fit by maximum likelihood: ``nAGQ=1`` the Laplace approximation (lme4's default),
        ``nAGQ=0`` the fast approximation (fixed effects inside PIRLS), ``nAGQ`` from 2 to
        25 adaptive Gauss-Hermite quadrature (one scalar random-effects term only).

        Warns with :class:`~pymixedlm.ConvergenceWarning` when the optimizer did not
        converge or a variance is estimated at 0, and with ``UserWarning`` for the other
        problems the checks find (overdispersion, separation).
        """
        if kwargs:
            raise TypeError(
                f"fit() does not take {', '.join(kwargs)}: a GLMM fit takes nAGQ only "
                "(the optimizer is the engine's two-stage fit, as lme4's)"
            )
        with engine_errors():
            fit = _core.fit_glmm(self.data.arrow, self._model_args, self._glmm_args(nAGQ))
        result = GLMMResults(fit, self)
        result._warn()
        return result


def mixedglm(formula: str, data: Any, groups: Any = None, re_formula: str | None = None,
             vc_formula: Mapping[str, str] | None = None, family: Any = "binomial",
             link: Any = None, weights: Any = None, offset: Any = None,
             missing: str = "drop") -> MixedGLM:
    """:class:`MixedGLM` from a formula, statsmodels-style (``smf.mixedlm``'s arguments plus
    ``family``, ``link``, ``weights``, ``offset``)."""
    return MixedGLM(formula, data, groups=groups, re_formula=re_formula, vc_formula=vc_formula,
                    family=family, link=link, weights=weights, offset=offset, missing=missing)


def glmer(formula: str, data: Any, family: Any = "binomial", nAGQ: int = 1, link: Any = None,
          weights: Any = None, offset: Any = None) -> "GLMMResults":
    """lme4's ``glmer(formula, data, family, nAGQ = 1)``: a GLMM from one lme4 formula.

    ``pymixedlm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)``.
    The response is 0/1, ``cbind(successes, failures)``, a proportion with ``weights`` =
    trials (binomial), or a count (Poisson). Returns :class:`GLMMResults`, with lme4's
    ``fixef()``, ``ranef()``, ``VarCorr()`` and statsmodels' attributes.
    """
    model = MixedGLM(formula, data, groups=None, family=family, link=link, weights=weights,
                     offset=offset, _idiom="lme4")
    return model.fit(nAGQ=nAGQ)


class GLMMSummary:
    """The summary of a GLMM fit in lme4's layout; ``print()`` it."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def as_text(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.text)}</pre>"


class GLMMResults(FittedModel):
    """A fitted generalized linear mixed model.

    statsmodels' names, with patsy's names for the fixed effects: ``params`` (the fixed
    effects), ``fe_params``, ``bse``, ``tvalues`` (Wald z), ``pvalues``, ``conf_int()``,
    ``cov_params()``, ``llf``, ``aic``, ``bic``, ``deviance``, ``converged``, ``nobs``,
    ``cov_re``, ``vcomp``, ``random_effects``, ``fittedvalues`` (the mean),
    ``resid_response``, ``resid_pearson``, ``resid_deviance``, ``predict()``,
    ``summary()``. lme4's functions with lme4's names: ``fixef()``, ``ranef()``,
    ``VarCorr()``, ``logLik()``, ``fitted()``, ``residuals(type)``, ``simulate()``,
    ``isSingular()``; ``compare(other)`` is lme4's ``anova(m0, m1)``.
    """

    def __repr__(self) -> str:
        return (f"<pymixedlm.GLMMResults: {self._fit.formula}, {self.family}({self.link}), "
                f"nAGQ={self.nagq}, nobs={self.nobs}>")

    # ---- the fit ----

    @property
    def family(self) -> str:
        return self._fit.family

    @property
    def link(self) -> str:
        return self._fit.link

    @property
    def nagq(self) -> int:
        """Quadrature points (1: the Laplace approximation)."""
        return self._fit.nagq

    @property
    def objective(self) -> float:
        """−2 log-likelihood as lme4 reports it (its ``deviance()`` is another quantity:
        :attr:`deviance`)."""
        return self._fit.objective

    # ---- fixed effects ----

    @property
    def params(self) -> Any:
        """The fixed effects (the variance parameters are :attr:`cov_re` and :attr:`vcomp`)."""
        return self.fe_params

    @cached_property
    def bse(self) -> Any:
        """Standard errors of the fixed effects (from the Hessian of the Laplace or
        quadrature log-likelihood in θ and β, as lme4's ``vcov()``)."""
        return _compat.series(self._names.fe_order(self._fit.bse_fe), self._names.fe_names)

    @property
    def bse_fe(self) -> Any:
        """Same as :attr:`bse`."""
        return self.bse

    def cov_params(self) -> Any:
        """The covariance of the fixed effects (patsy's names)."""
        perm = self._names.fe_permutation
        vcov = np.asarray(self._fit.vcov_fe, dtype=float)
        names = self._names.fe_names
        return _compat.frame(vcov[np.ix_(perm, perm)], names, names)

    @property
    def tvalues(self) -> Any:
        """Wald z statistics ``params / bse``."""
        return self.params / self.bse

    @property
    def pvalues(self) -> Any:
        """Two-sided p-values of the z statistics against the standard normal."""
        z = np.abs(np.asarray(self.tvalues, dtype=float))
        p = [2 * _core.normal_sf(v) for v in z]
        return _compat.series(p, self._names.fe_names)

    def conf_int(self, alpha: float = 0.05) -> Any:
        """Wald intervals ``params ± z·bse`` at level 1 − alpha (columns 0 and 1)."""
        q = _core.normal_quantile(1 - alpha / 2)
        est, se = np.asarray(self.params, dtype=float), np.asarray(self.bse, dtype=float)
        return _compat.frame(np.column_stack([est - q * se, est + q * se]), self._names.fe_names, [0, 1])

    # ---- random effects ----

    @property
    def cov_re(self) -> Any:
        """The covariance of the main term's random effects (on the link scale)."""
        names = self._names.re_names
        return _compat.frame(self._names.cov_re_matrix, names, names)

    # ---- likelihood ----

    @property
    def aic(self) -> float:
        return self._fit.aic

    @property
    def bic(self) -> float:
        return self._fit.bic

    @property
    def deviance(self) -> float:
        """lme4's ``deviance()`` of a GLMM: the sum of the squared deviance residuals
        plus the random effects' penalty at the conditional modes."""
        return self._fit.deviance

    # ---- rows ----

    @property
    def fittedvalues(self) -> Any:
        """The fitted means (response scale, with the random effects), indexed as the data."""
        return _compat.series(self._fit.fittedvalues(), self._rows)

    @property
    def resid_response(self) -> Any:
        """``y − fittedvalues`` (for ``cbind`` and weighted responses, on the proportion scale)."""
        return _compat.series(self._fit.resid("response"), self._rows)

    @property
    def resid_pearson(self) -> Any:
        return _compat.series(self._fit.resid("pearson"), self._rows)

    @property
    def resid_deviance(self) -> Any:
        return _compat.series(self._fit.resid("deviance"), self._rows)

    def predict(self, exog: Any = None, linear: bool = False, level: str = "population",
                new_levels: str = "population") -> Any:
        """Predictions for new data (or the fitted data when ``exog`` is None): the mean
        (``linear=False``, statsmodels' default) or the linear predictor. ``level=
        "population"`` uses the fixed effects only; ``"conditional"`` adds each known
        group's conditional modes (lme4's default ``re.form = NULL``); a group not seen in
        fitting gets the population prediction, or an error with ``new_levels="error"``.
        Rows with a missing value get NaN."""
        scale = "link" if linear else "response"
        return self._predict(exog, level=level, scale=scale, new_levels=new_levels)

    # ---- printing, checks ----

    def summary(self) -> GLMMSummary:
        """The summary in lme4's layout (family, link, approximation, AIC/BIC/logLik,
        random effects, fixed effects with z tests)."""
        with engine_errors():
            return GLMMSummary(self._fit.summary_text())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def diagnostics(self) -> list[str]:
        """The problems the checks find (convergence, singularity, overdispersion,
        separation), one sentence each with what to do; empty when there are none."""
        with engine_errors():
            return list(self._fit.messages())

    def compare(self, other: "GLMMResults") -> dict:
        """The likelihood-ratio test against another GLMM fitted to the same rows (lme4's
        ``anova(m0, m1)``): ``npar``, ``objective`` (smaller model first), ``chisq``,
        ``df``, ``p_value``."""
        with engine_errors():
            return dict(self._fit.lrt(other._fit))

    # ---- lme4's names ----

    def VarCorr(self) -> Any:
        """lme4's ``as.data.frame(VarCorr())``: ``grp``, ``var1``, ``var2``, ``vcov``,
        ``sdcor`` (no residual row: binomial and Poisson have no scale)."""
        return self._names.varcorr(None)

    def fitted(self) -> Any:
        """lme4's ``fitted()``: the fitted means."""
        return self.fittedvalues

    def residuals(self, type: str = "deviance") -> Any:
        """lme4's ``residuals(type = "deviance" | "pearson" | "response" | "working")``."""
        with engine_errors():
            return _compat.series(self._fit.resid(type), self._rows)

    def simulate(self, nsim: int = 1, seed: int = 42) -> np.ndarray:
        """lme4's ``simulate()``: ``nsim`` responses drawn from the fitted model (random
        effects drawn anew), one row per simulation."""
        with engine_errors():
            return np.asarray(self._fit.simulate(int(nsim), int(seed)))

    def _warn(self) -> None:
        for text in self.diagnostics():
            no_optimum = text.startswith(("boundary (singular)", "complete separation"))
            category = ConvergenceWarning if no_optimum else UserWarning
            warnings.warn(text, category, stacklevel=3)
        if not self.converged and not self._fit.separated:
            warnings.warn("the GLMM fit did not converge: see result.diagnostics() for why",
                          ConvergenceWarning, stacklevel=3)


__all__ = ["MixedGLM", "GLMMResults", "GLMMSummary", "glmer", "mixedglm"]
