"""pymixedlm: linear mixed models on the mixedlm engine (Rust), with statsmodels' API and
lme4's.

statsmodels' idiom (the tutorial's code runs with only the import changed)::

    import pymixedlm as smf
    model = smf.mixedlm("score ~ hours", data, groups=data["school"], re_formula="~hours")
    result = model.fit()
    print(result.summary())
    result.params["hours"], result.cov_re, result.random_effects

lme4's idiom::

    from pymixedlm import lmer
    m = lmer("Reaction ~ Days + (Days | Subject)", data)
    m.fixef(), m.ranef(), m.VarCorr(), m.confint()

Binary and count responses (GLMMs, as lme4's ``glmer``)::

    from pymixedlm import glmer
    g = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    g.fixef(), g.summary(); pymixedlm.mixedglm(..., groups=..., family="poisson") too

Data: pandas or polars DataFrames, pyarrow Tables and RecordBatches, any object with
``__arrow_c_stream__``, a dict of numpy arrays, or a CSV/Parquet/Arrow path. Numeric
columns are read in place; the fit runs with the GIL released.
"""

from ._core import __version__
from ._glmm import GLMMResults, MixedGLM, glmer, mixedglm
from ._errors import ColumnNotFoundError, ConvergenceWarning, ModelSpecificationWarning
from ._lme4 import VarCorr, anova, compare, confint, fixef, lmer, ranef
from ._model import MixedLM, mixedlm
from ._results import MixedLMResults
from . import spark  # noqa: E402  (pyspark is imported only when it is used)
from ._summary import Summary

__all__ = [
    "MixedLM",
    "MixedLMResults",
    "Summary",
    "mixedlm",
    "lmer",
    "glmer",
    "mixedglm",
    "MixedGLM",
    "GLMMResults",
    "fixef",
    "ranef",
    "VarCorr",
    "confint",
    "anova",
    "compare",
    "ConvergenceWarning",
    "ModelSpecificationWarning",
    "ColumnNotFoundError",
    "__version__",
]
