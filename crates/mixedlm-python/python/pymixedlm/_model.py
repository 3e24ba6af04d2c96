"""The statsmodels idiom: :func:`mixedlm`, :class:`MixedLM` and ``MixedLM.fit``."""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from . import _core
from ._data import Data, _is_pandas_series, prepare
from ._errors import ModelSpecificationWarning, engine_errors
from ._formula import Translation, translate, translate_rhs

# statsmodels' method names -> the engine's optimizers. statsmodels' gradient methods
# (lbfgs, cg, newton) all become the engine's BFGS on the analytic gradient.
_METHODS = {
    None: "auto", "auto": "auto",
    "bfgs": "bfgs", "lbfgs": "bfgs", "cg": "bfgs", "newton": "bfgs",
    "powell": "powell",
    "nm": "nelder-mead", "nelder-mead": "nelder-mead", "nelder_mead": "nelder-mead",
    "bobyqa": "bobyqa",
}

_UNSUPPORTED_FIT_ARGS = ("niter_sa", "do_cg", "fe_pen", "cov_pen", "free", "full_output")


def _engine_method(name: Any) -> str:
    key = name.lower() if isinstance(name, str) else name
    if key not in _METHODS:
        valid = ", ".join(repr(k) for k in _METHODS if k is not None)
        raise ValueError(f"unknown method {name!r}; use one of: {valid}")
    return _METHODS[key]


class MixedLM:
    """A linear mixed model in statsmodels' idiom, fitted by the mixedlm engine.

    Build it with :func:`mixedlm` or :meth:`MixedLM.from_formula` (same arguments as
    statsmodels); :meth:`fit` returns a :class:`~pymixedlm.MixedLMResults` with
    statsmodels' attribute names and indexing (``result.params["sex[T.M]"]``).

    Parameters
    ----------
    formula : str
        The mean structure in patsy's syntax (``"score ~ hours + C(school_type)"``). Derived
        columns are evaluated by the engine: ``C(x)``, ``C(x, Treatment('b'))``,
        ``C(x, Sum)``, ``I(x ** 2)``, ``np.log(x)`` (and ``log2``, ``log10``, ``exp``,
        ``sqrt``, ``abs``), ``center(x)``, ``Q('yield')`` for a column whose name is not
        a Python identifier. Other Python expressions are refused with a message: compute
        such columns in the data first. An lme4 random term (``(1 | g)``) may be added.
    data : DataFrame, pyarrow Table or RecordBatch, Arrow stream, dict of arrays, or path
        pandas and polars DataFrames, pyarrow Tables and RecordBatches, any object with
        ``__arrow_c_stream__``, a dict of numpy arrays, or the path of a CSV, Parquet or
        Arrow file. Numeric columns are read in place (no copy). A pandas Categorical's
        categories (an Arrow dictionary's values) are its levels in their order, the first
        being the reference level, as in patsy; text columns' levels are sorted.
    groups : str or array-like
        The grouping column's name, or the group labels themselves (a Series or array
        with one label per row). Named ``Group`` in the results when given as labels, by
        the column's name when given as a name (as statsmodels does).
    re_formula : str, optional
        The random effects of each group (``"~hours"``: a random intercept and slope with
        their correlation). Default: a random intercept.
    vc_formula : dict, optional
        Variance components, ``{"class": "0 + C(class)"}``: a random intercept per class
        within each group, with one variance. As in statsmodels, giving ``vc_formula``
        without ``re_formula`` fits **no** random intercept for the groups (a warning
        says so); pass ``re_formula="1"`` to add it.
    missing : {"drop", "raise"}
        Rows with a missing value (NaN, None, null) in a column the model uses are dropped
        (the default; ``result.nobs`` counts the rows used), or raise ``ValueError``.

    Notes
    -----
    Differences from statsmodels worth knowing: the optimizers are the engine's
    (``method`` maps statsmodels' names onto them), crossed random effects can be written
    as lme4 terms in ``formula``, and ``result.predict(new, level="conditional")`` predicts
    with each group's random effects.

    Examples
    --------
    >>> import pymixedlm as smf
    >>> model = smf.mixedlm("Reaction ~ Days", data, groups=data["Subject"], re_formula="~Days")
    >>> result = model.fit()
    >>> print(result.summary())
    """

    def __init__(self, formula: Any, data: Any = None, groups: Any = None, re_formula: Any = None,
                 vc_formula: Mapping[str, str] | None = None, missing: str = "drop",
                 _idiom: str = "statsmodels", exog_re: Any = None, **kwargs: Any):
        if not isinstance(formula, str):
            # statsmodels' array interface: MixedLM(endog, exog, groups, exog_re=None)
            formula, data, groups, re_formula = _from_arrays(formula, data, groups,
                                                             exog_re if exog_re is not None else re_formula)
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        if missing not in ("drop", "raise", "none"):
            raise ValueError(f"missing must be 'drop' or 'raise'; got {missing!r}")
        self.formula = formula
        self.re_formula = re_formula
        self.vc_formula = dict(vc_formula or {})
        self.missing = missing
        self._idiom = _idiom
        self._fixed: Translation = translate(formula) if _idiom == "statsmodels" else Translation(formula, {})
        self._re: Translation | None = translate_rhs(re_formula) if re_formula is not None else None
        self._vc = {name: translate_rhs(f) for name, f in self.vc_formula.items()}
        self._group_label, self._group_column, extra = self._groups(groups, data)
        self._model_args = {
            "formula": self._fixed.engine,
            "groups": self._group_column,
            "re_formula": self._re.engine if self._re is not None else None,
            "vc": [(name, t.engine) for name, t in self._vc.items()],
        }
        with engine_errors():
            columns = _core.used_columns(self._model_args)
            _core.check_formula(self._model_args)
            self._labels = _engine_labels(self._fixed, self._re, self._vc)
        # the engine's notes on the model, e.g. that vc_formula without re_formula fits no
        # random intercept for the groups (statsmodels' model) and how to add it
        self._spec_warnings: list[str] = _core.model_warnings(self._model_args)
        for text in self._spec_warnings:
            warnings.warn(text, ModelSpecificationWarning, stacklevel=3)
        more_columns, more_extra = self._more_data()
        columns = columns + [c for c in more_columns if c not in columns]
        self.data: Data = prepare(data, columns, {**extra, **more_extra})
        self._columns = columns
        if missing == "raise":
            self._check_missing()

    def _more_data(self) -> tuple[list[str], dict]:
        """Columns beyond the formula's (names, and arrays to add under a name) that a
        subclass's model reads, e.g. a GLMM's weights."""
        return [], {}

    # ---- construction ----

    @classmethod
    def from_formula(cls, formula: str, data: Any, re_formula: str | None = None,
                     vc_formula: Mapping[str, str] | None = None, subset: Any = None,
                     use_sparse: bool = False, missing: str = "drop", *args: Any,
                     groups: Any = None, **kwargs: Any) -> "MixedLM":
        """Create a model from a formula and data (statsmodels' signature).

        ``groups`` is required (a column name or one label per row); ``subset`` (a boolean
        mask or index of rows) is applied to the data first; ``use_sparse`` is accepted and
        ignored (the engine chooses sparse or dense algebra by itself).
        """
        if args:
            groups = args[0] if groups is None else groups
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        if subset is not None:
            data = data.loc[subset] if hasattr(data, "loc") else data[subset]
            if _is_pandas_series(groups):
                groups = groups.loc[subset]
        return cls(formula, data, groups=groups, re_formula=re_formula, vc_formula=vc_formula,
                   missing=missing)

    @classmethod
    def from_spark(cls, sdf: Any, formula: str, groups: str | None = None,
                   re_formula: str | None = None, vc_formula: Mapping[str, str] | None = None,
                   reml: bool = True, method: Any = None, **kwargs: Any) -> Any:
        """Fit to a Spark DataFrame across the cluster; see :func:`pymixedlm.spark.fit`."""
        from .spark import fit

        return fit(sdf, formula, groups=groups, re_formula=re_formula, vc_formula=vc_formula,
                   reml=reml, method=method, **kwargs)

    def _groups(self, groups: Any, data: Any) -> tuple[str | None, str | None, dict]:
        """(label in results, column passed to the engine, extra columns to add)."""
        if groups is None:
            if self._idiom == "statsmodels" and "|" not in self._fixed.engine:
                raise ValueError(
                    "groups is required: the grouping column's name or one label per row, "
                    "e.g. groups=data[\"school\"]; or write an lme4 term such as (1 | school)"
                )
            return None, None, {}
        if isinstance(groups, str):
            return groups, groups, {}
        name = getattr(groups, "name", None)
        columns = getattr(data, "columns", None)
        if isinstance(name, str) and columns is not None and name in list(columns):
            same = _same_values(groups, data[name])
            if same:
                return "Group", name, {}
        column = name if isinstance(name, str) and name else "groups"
        existing = set(map(str, columns)) if columns is not None else set()
        while column in existing:
            column = "_" + column
        return "Group", column, {column: groups}

    def _check_missing(self) -> None:
        arrow = self.data.arrow
        for c in self._columns:
            try:
                col = arrow.column(c)
            except Exception:
                continue
            nulls = col.null_count
            if nulls == 0 and col.type in (_pa_float64(),):
                values = col.to_numpy(zero_copy_only=False)
                nulls = int(np.isnan(values).sum())
            if nulls:
                raise ValueError(
                    f"column '{c}' has {nulls} missing value(s) and missing='raise'; drop "
                    "those rows or pass missing='drop'"
                )

    # ---- statsmodels' model attributes ----

    @property
    def endog_names(self) -> str:
        """The response's name."""
        return self.formula.split("~")[0].strip()

    @property
    def group_name(self) -> str | None:
        """The grouping factor's label in the results (``Group`` or the column name)."""
        return self._group_label

    def fit(self, start_params: Any = None, reml: bool = True, niter_sa: int = 0,
            do_cg: bool = True, fe_pen: Any = None, cov_pen: Any = None, free: Any = None,
            full_output: bool = False, method: str | Sequence[str] | None = None,
            maxiter: int | None = None, **kwargs: Any):
        """Fit the model by REML (default) or ML; the engine runs with the GIL released.

        Parameters
        ----------
        start_params : array-like or MixedLMResults, optional
            Where the optimizer starts: a previous result (its θ), or θ in lme4's order
            (the relative covariance factor's lower triangles, column by column).
        reml : bool
            REML (default) or maximum likelihood. Compare models that differ in their
            fixed effects with ML fits (:func:`pymixedlm.compare` refits them).
        method : str or list of str, optional
            The optimizer: ``None``/``"auto"`` (the engine's choice: BFGS on the analytic
            gradient for one-term models, else BOBYQA), ``"bfgs"`` (also for statsmodels'
            ``"lbfgs"``, ``"cg"``, ``"newton"``), ``"powell"``, ``"nm"``/``"nelder-mead"``,
            ``"bobyqa"``. A list is tried in order until one converges, as statsmodels does.
        maxiter : int, optional
            The optimizer's budget of objective evaluations.

        statsmodels' ``niter_sa``, ``do_cg``, ``fe_pen``, ``cov_pen``, ``free`` and
        ``full_output`` are not supported: passing them raises ``NotImplementedError``.

        Returns
        -------
        MixedLMResults
            Warns with :class:`~pymixedlm.ConvergenceWarning` when the optimizer did not
            converge or the fit is singular (a variance on the boundary).
        """
        given = {"niter_sa": niter_sa != 0, "do_cg": do_cg is not True, "fe_pen": fe_pen is not None,
                 "cov_pen": cov_pen is not None, "free": free is not None,
                 "full_output": full_output is not False}
        bad = [k for k, v in given.items() if v] + [k for k in kwargs if k != "disp"]
        if bad:
            raise NotImplementedError(
                f"fit() does not support {', '.join(bad)}: the engine has no penalized or "
                "constrained fits; remove the argument"
            )
        methods = list(method) if isinstance(method, (list, tuple)) else [method]
        start = _start_theta(start_params)
        result = None
        for m in methods:
            engine_method = _engine_method(m)
            with engine_errors():
                fit = _core.fit(self.data.arrow, self._model_args, reml=bool(reml),
                                method=engine_method, max_evaluations=maxiter, start_theta=start)
            from ._results import MixedLMResults

            result = MixedLMResults(fit, self)
            if result.converged:
                break
        assert result is not None
        result._warn()
        return result


def _from_arrays(endog: Any, exog: Any, groups: Any, exog_re: Any) -> tuple[str, dict, Any, str | None]:
    """statsmodels' ``MixedLM(endog, exog, groups, exog_re)`` as a formula over named columns:
    ``y ~ 0 + c1 + c2`` (exog's columns as given, an intercept column included) and
    ``re_formula = "0 + z1 + ..."``; names are the columns' (``x1``... for bare arrays)."""
    import keyword

    def quote(name: str) -> str:  # patsy's spelling, translated like any formula
        return name if name.isidentifier() and not keyword.iskeyword(name) else f"Q({name!r})"

    def columns(values: Any, prefix: str) -> dict[str, np.ndarray]:
        if values is None:
            return {}
        names = getattr(values, "columns", None)
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 1:
            name = getattr(values, "name", None)
            return {str(name) if name is not None else f"{prefix}1": arr}
        names = [str(c) for c in names] if names is not None else [f"{prefix}{j + 1}" for j in range(arr.shape[1])]
        return {n: arr[:, j] for j, n in enumerate(names)}

    y_name = str(getattr(endog, "name", None) or "y")
    data = {y_name: np.asarray(endog, dtype=float)}
    fixed = columns(exog, "x")
    random = columns(exog_re, "z")
    data.update(fixed)
    for k, v in random.items():
        if k in data and not np.array_equal(data[k], v):
            raise ValueError(f"exog and exog_re both have a column '{k}' with different values")
        data[k] = v
    formula = f"{quote(y_name)} ~ 0 + " + " + ".join(quote(c) for c in fixed)
    re_formula = ("0 + " + " + ".join(quote(c) for c in random)) if random else None
    return formula, data, np.asarray(groups), re_formula


def _engine_labels(*translations: Any) -> dict[str, str]:
    """The engine's label of each translated factor -> the user's (patsy's) spelling."""
    out: dict[str, str] = {}
    for t in translations:
        items = t.values() if isinstance(t, dict) else [t]
        for tr in items:
            if tr is None:
                continue
            for engine, user in tr.factors.items():
                try:
                    terms = _core.check_formula(
                        {"formula": "y ~ " + engine, "groups": None, "re_formula": None, "vc": []})
                except (ValueError, KeyError):
                    continue
                if len(terms) == 1 and len(terms[0]) == 1:
                    out[terms[0][0]] = user
    return out


def _pa_float64():
    import pyarrow as pa

    return pa.float64()


def _same_values(a: Any, b: Any) -> bool:
    try:
        return len(a) == len(b) and bool(np.all(np.asarray(a) == np.asarray(b)))
    except Exception:
        return False


def _start_theta(start_params: Any) -> list[float] | None:
    if start_params is None:
        return None
    theta = getattr(start_params, "theta", None)
    if theta is not None:
        return [float(v) for v in np.asarray(theta)]
    arr = np.asarray(start_params, dtype=float).ravel()
    return [float(v) for v in arr]


def mixedlm(formula: str, data: Any, re_formula: str | None = None,
            vc_formula: Mapping[str, str] | None = None, subset: Any = None,
            use_sparse: bool = False, missing: str = "drop", *args: Any, groups: Any = None,
            **kwargs: Any) -> MixedLM:
    """A linear mixed model from a formula, as ``statsmodels.formula.api.mixedlm``.

    ``mixedlm("score ~ hours", data, groups=data["school"], re_formula="~hours")``; see
    :class:`MixedLM` for the arguments and ``MixedLM.fit`` for fitting.
    """
    return MixedLM.from_formula(formula, data, re_formula, vc_formula, subset, use_sparse,
                                missing, *args, groups=groups, **kwargs)
