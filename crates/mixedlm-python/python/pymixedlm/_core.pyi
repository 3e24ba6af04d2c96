"""Type stubs of the Rust extension ``pymixedlm._core`` (the engine's thin binding).

Users call the pure-Python layer (``pymixedlm.mixedlm``, ``pymixedlm.lmer``); these are
the functions it calls.
"""

from os import PathLike
from typing import Any, Optional, Sequence, TypedDict

import numpy as np
import numpy.typing as npt

__version__: str

class ModelArgs(TypedDict):
    """A model in the engine's spelling (lme4 formula syntax)."""

    formula: str
    groups: Optional[str]
    re_formula: Optional[str]
    vc: list[tuple[str, str]]

def fit(
    data: Any,
    model: ModelArgs,
    *,
    reml: bool = True,
    method: str = "auto",
    max_evaluations: Optional[int] = None,
    start_theta: Optional[Sequence[float]] = None,
) -> Fit:
    """Fit ``model`` to ``data`` (an ``__arrow_c_stream__``/``__arrow_c_array__`` object or a
    file path) with the GIL released. Raises ``ValueError`` (``KeyError`` for an unknown
    column, ``FileNotFoundError`` for a missing file) with the engine's message."""

def used_columns(model: ModelArgs) -> list[str]:
    """The data columns the model reads, in order of first appearance."""

def check_formula(model: ModelArgs) -> list[list[str]]:
    """Validate the model; per fixed-effects term, the engine's labels of its variables."""

def model_warnings(model: ModelArgs) -> list[str]:
    """The engine's notes on the model that are not errors (e.g. variance components
    without ``re_formula`` fit no group intercept), one sentence each."""

def anova(fits: Sequence[Fit]) -> dict[str, Any]:
    """Likelihood-ratio tests (lme4's ``anova``): columns by lme4's names, plus
    ``name`` and ``refit_ml``."""

def column_addresses(data: Any) -> dict[str, int]:
    """The address of each float64/int64 column's values as the engine imports them."""

def read_table(path: str | PathLike[str]) -> Any:
    """A CSV/Parquet/Arrow file read by the engine's reader, as a ``pyarrow.RecordBatch``."""

def raise_panic_for_tests() -> None:
    """Panic inside the engine guard: raises ``RuntimeError`` (never aborts)."""

def normal_sf(x: float) -> float: ...
def normal_quantile(q: float) -> float: ...
def t_quantile(q: float, df: float) -> float: ...

class Fit:
    """A fitted model (the engine's ``MixedLMResults``) as plain values."""

    formula: str
    lme4_formula: str
    endog_name: str
    reml: bool
    engine_seconds: float
    fe_names: list[str]
    fe_params: list[float]
    bse_fe: list[float]
    vcov_fe: list[list[float]]
    aliased: list[str]
    theta: list[float]
    sigma: float
    objective: float
    llf: float
    aic: float
    bic: float
    npar: int
    converged: bool
    singular: bool
    nobs: int
    n_dropped: int
    n_groups: list[tuple[str, int]]
    group_sizes: list[int]
    rank_message: Optional[str]
    warnings: list[str]
    def fe_columns(self) -> Optional[list[dict[str, Any]]]:
        """Per fixed-effects column: ``name``, ``aliased``, ``term`` and ``parts``
        (``(label, key, kind, level)`` per variable); None when they do not rebuild the
        engine's names."""
    def optimizer(self) -> dict[str, Any]: ...
    def row_index(self) -> npt.NDArray[np.uint64]: ...
    def fittedvalues(self) -> npt.NDArray[np.float64]: ...
    def resid(self) -> npt.NDArray[np.float64]: ...
    def random_terms(self, values: bool = True) -> list[dict[str, Any]]: ...
    def design_arrays(self) -> dict[str, Any]: ...
    def fixed_effect_tests(
        self, ddf: str = "z"
    ) -> list[tuple[str, float, float, float, Optional[float], float]]: ...
    def confint(
        self, method: str = "wald", level: float = 0.95, nsim: int = 500, seed: int = 42
    ) -> list[tuple[str, float, float]]: ...
    def variance_se(self) -> list[tuple[str, float, float]]:
        """statsmodels' ``bse_re``: ``(name, estimate, se)`` per variance parameter."""
    def joint_covariance(self) -> tuple[list[str], list[list[float]]]:
        """statsmodels' ``cov_params()`` from the joint information: names and matrix."""
    def ml_loglik(self) -> float: ...
    def predict(
        self, data: Any, level: str = "population", new_levels: str = "population"
    ) -> dict[str, Any]: ...
    def simulate(self, n: int, seed: int) -> list[npt.NDArray[np.float64]]: ...
    def summary_text(self, ddf: str = "z") -> str: ...
    def diagnostics(self, influence: bool = False) -> list[tuple[str, str, str, str]]: ...
    def write_plots(self, directory: str | PathLike[str], format: str = "svg") -> list[str]: ...

class GlmmArgs(TypedDict):
    """A GLMM's family, link, quadrature points and optional weight/offset columns."""

    family: str
    link: Optional[str]
    nagq: int
    weights: Optional[str]
    offset: Optional[str]

def fit_glmm(data: Any, model: ModelArgs, glmm: GlmmArgs) -> GlmmFit:
    """Fit a GLMM to ``data`` with the GIL released (errors as for :func:`fit`)."""

def check_glmm(model: ModelArgs, glmm: GlmmArgs) -> None:
    """Raise ``ValueError`` for an unknown family or link, a link the family does not
    take, or an unsupported nAGQ."""

class GlmmFit:
    """A fitted GLMM as plain values (wrapped by ``pymixedlm.GLMMResults``)."""

    formula: str
    family: str
    link: str
    nagq: int
    engine_seconds: float
    fe_names: list[str]
    fe_params: list[float]
    bse_fe: list[float]
    vcov_fe: list[list[float]]
    aliased: list[str]
    theta: list[float]
    objective: float
    deviance: float
    llf: float
    aic: float
    bic: float
    npar: int
    converged: bool
    separated: list[str]
    singular: bool
    nobs: int
    n_dropped: int
    n_groups: list[tuple[str, int]]
    def fe_columns(self) -> Optional[list[dict[str, Any]]]: ...
    def messages(self) -> list[str]: ...
    def row_index(self) -> npt.NDArray[np.uint64]: ...
    def fittedvalues(self) -> npt.NDArray[np.float64]: ...
    def linear_predictor(self) -> npt.NDArray[np.float64]: ...
    def resid(self, kind: str = "deviance") -> npt.NDArray[np.float64]: ...
    def random_terms(self, values: bool = True) -> list[dict[str, Any]]: ...
    def predict(
        self, data: Any, level: str = "population", scale: str = "link",
        new_levels: str = "population",
    ) -> dict[str, Any]: ...
    def simulate(self, n: int, seed: int) -> list[npt.NDArray[np.float64]]: ...
    def lrt(self, other: GlmmFit) -> dict[str, Any]: ...
    def summary_text(self) -> str: ...
