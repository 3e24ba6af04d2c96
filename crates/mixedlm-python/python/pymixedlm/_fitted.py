"""What every fitted model of the package shares, linear or generalized: the engine's fit,
its names (built when first asked for), the rows used, lme4's ``fixef``/``ranef``, and
predictions for new data."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _compat, _names
from ._data import prepare
from ._errors import engine_errors

if TYPE_CHECKING:
    from ._model import MixedLM


class FittedModel:
    """The common part of :class:`~pymixedlm.MixedLMResults` and
    :class:`~pymixedlm.GLMMResults`."""

    def __init__(self, fit: Any, model: "MixedLM"):
        self._fit = fit
        self.model = model

    @cached_property
    def _names(self) -> "_names.Naming":
        """statsmodels' and patsy's names of everything, built when first asked for (a fit
        whose caller reads only the estimates does not pay for them)."""
        return _names.Naming(self._fit, self.model)

    @property
    def converged(self) -> bool:
        """Whether the optimizer converged and the post-fit checks passed."""
        return self._fit.converged

    @property
    def singular(self) -> bool:
        """Whether a variance is estimated on its boundary (lme4's ``isSingular``)."""
        return self._fit.singular

    @property
    def nobs(self) -> int:
        """The number of observations used (rows with missing values are not)."""
        return self._fit.nobs

    @property
    def n_dropped(self) -> int:
        """Rows dropped for a missing value in a column the model uses."""
        return self._fit.n_dropped

    @property
    def theta(self) -> np.ndarray:
        """θ, the relative covariance factors' parameters in lme4's order."""
        return np.asarray(self._fit.theta)

    @property
    def k_fe(self) -> int:
        return len(self._fit.fe_names)

    @cached_property
    def fe_params(self) -> Any:
        """The fixed-effects estimates, indexed by patsy's names."""
        return _compat.series(self._names.fe_order(self._fit.fe_params), self._names.fe_names)

    @property
    def vcomp(self) -> np.ndarray:
        """The variance components' variances, in ``vc_formula`` order (numpy array)."""
        return np.asarray(self._names.vcomp_values, dtype=float)

    @property
    def llf(self) -> float:
        """The log-likelihood (the REML log-likelihood for REML fits, as statsmodels and
        lme4; the Laplace or quadrature approximation for a GLMM, as lme4)."""
        return self._fit.llf

    @cached_property
    def random_effects(self) -> dict:
        """The conditional modes of each group: ``{group: Series}`` indexed by the main
        term's names and, for variance components, ``name[column]`` entries."""
        return self._names.random_effects()

    @cached_property
    def _rows(self) -> Any:
        rows = np.asarray(self._fit.row_index())
        index = self.model.data.index
        return index[rows] if index is not None else rows

    def _predict(self, exog: Any, **options: Any) -> Any:
        """The engine's predictions for `exog` (the fitted data when None), one per row of
        it (NaN where a value is missing), indexed as it is."""
        from ._data import _is_pandas

        data = self.model.data if exog is None else None
        if data is None:
            columns = [c for c in self.model._columns if _has_column(exog, c)]
            data = prepare(exog, columns)
        with engine_errors():
            p = self._fit.predict(data.arrow, **options)
        n = data.n_rows if data.n_rows >= 0 else int(np.max(p["row_index"], initial=-1)) + 1
        out = np.full(n, np.nan)
        out[np.asarray(p["row_index"], dtype=np.int64)] = np.asarray(p["values"])
        if exog is not None and _is_pandas(exog):
            return _compat.series(out, exog.index)
        if exog is None and data.index is not None:
            return _compat.series(out, data.index)
        return _compat.series(out)

    # ---- lme4's functions ----

    def fixef(self) -> Any:
        """lme4's ``fixef()``: the fixed effects with lme4's names (``(Intercept)``, ``SexMale``)."""
        return _compat.series(self._fit.fe_params, self._fit.fe_names)

    def ranef(self) -> dict:
        """lme4's ``ranef()``: per grouping factor a DataFrame, levels × effects."""
        return self._names.ranef()

    def logLik(self) -> float:
        """lme4's ``logLik()``."""
        return self._fit.llf

    def isSingular(self) -> bool:
        """lme4's ``isSingular()``."""
        return self.singular


def _has_column(data: Any, column: str) -> bool:
    cols = getattr(data, "columns", None)
    if cols is None:
        cols = getattr(data, "column_names", None)
    if cols is None and isinstance(data, dict):
        cols = list(data)
    return cols is None or column in list(cols)
