"""The printed summary, laid out as statsmodels prints a MixedLM result, plus HTML."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from . import _core

if TYPE_CHECKING:  # pragma: no cover
    from ._results import MixedLMResults


def _fmt(x: float, spec: str = ".3f") -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


class Summary:
    """The summary of a fit: ``print()`` it, or show it in a notebook (``_repr_html_``).

    ``tables`` holds its two tables as lists of rows, ``extra_txt`` the notes below them.
    """

    def __init__(self, r: "MixedLMResults", yname: str | None = None,
                 xname_fe: Sequence[str] | None = None, xname_re: Sequence[str] | None = None,
                 title: str | None = None, alpha: float = 0.05, ddf: str | None = None):
        self.title = title or "Mixed Linear Model Regression Results"
        sizes = np.asarray(r._fit.group_sizes, dtype=float)
        scale = f"{r.scale:.4f}"
        llf = f"{r.llf:.4f}"
        self.info = [
            ("Model:", "MixedLM", "Dependent Variable:", yname or r._fit.endog_name),
            ("No. Observations:", str(r.nobs), "Method:", r.method),
            ("No. Groups:", str(len(sizes)), "Scale:", scale),
            ("Min. group size:", f"{sizes.min():.0f}" if len(sizes) else "", "Log-Likelihood:", llf),
            ("Max. group size:", f"{sizes.max():.0f}" if len(sizes) else "", "Converged:",
             "Yes" if r.converged else "No"),
            ("Mean group size:", f"{sizes.mean():.1f}" if len(sizes) else "", "", ""),
        ]
        lo, hi = f"[{alpha / 2:.3f}", f"{1 - alpha / 2:.3f}]"
        fe_names = list(xname_fe) if xname_fe is not None else list(r._names.fe_names)
        re_names = list(xname_re) if xname_re is not None else r._names.re_param_names
        self.header = ["", "Coef.", "Std.Err.", "z", "P>|z|", lo, hi]
        rows: list[list[str]] = []
        if ddf and ddf.lower() not in ("z", "wald", "normal"):
            tests = r.fixed_effect_tests(ddf)
            est = np.asarray(tests["Estimate"])
            se = np.asarray(tests["Std. Error"])
            df = np.asarray(tests["df"])
            t = np.asarray(tests["t value"])
            p = np.asarray(tests["Pr(>|t|)"])
            perm = r._names.fe_permutation
            q = [_core.t_quantile(1 - alpha / 2, float(d)) for d in df]
            self.header = ["", "Coef.", "Std.Err.", "t", "df", "P>|t|", lo, hi]
            for name, i in zip(fe_names, perm):
                rows.append([name, _fmt(est[i]), _fmt(se[i]), _fmt(t[i]), _fmt(df[i], ".2f"),
                             _fmt(p[i]), _fmt(est[i] - q[i] * se[i]), _fmt(est[i] + q[i] * se[i])])
        else:
            ci = np.asarray(r.conf_int(alpha))
            params = np.asarray(r.params, dtype=float)
            bse = np.asarray(r.bse, dtype=float)
            z = params / bse
            pv = np.asarray(r.pvalues, dtype=float)
            for i, name in enumerate(fe_names):
                rows.append([name, _fmt(params[i]), _fmt(bse[i]), _fmt(z[i]), _fmt(pv[i]),
                             _fmt(ci[i, 0]), _fmt(ci[i, 1])])
        width_cols = len(self.header)
        re_values = _re_values(r)
        bse_re = np.asarray(r.bse_re, dtype=float) if len(re_names) else np.zeros(0)
        for name, value, se in zip(re_names, re_values, bse_re):
            rows.append([name, _fmt(value), _fmt(se)] + [""] * (width_cols - 3))
        self.rows = rows
        self.extra_txt: list[str] = []
        if r.singular:
            self.extra_txt.append("The fit is singular: a variance is estimated on its boundary (zero).")
        if r._fit.rank_message:
            self.extra_txt.append(r._fit.rank_message)
        if not r.converged:
            self.extra_txt.append("The optimizer did not converge: " + r.optimizer["termination"])

    @property
    def tables(self) -> list[list]:
        return [self.info, [self.header] + self.rows]

    def as_text(self) -> str:
        widths = [max(len(row[j]) for row in [self.header] + self.rows) for j in range(len(self.header))]
        table = [_row(self.header, widths, header=True)] + [_row(r, widths) for r in self.rows]
        width = max(len(line) for line in table)
        # the header block, stretched to the table's width as statsmodels does: the extra
        # width spread over the three separators, the remainder to the first column
        info_w = [max(len(row[j]) for row in self.info) for j in range(4)]
        extra = max(0, width - (sum(info_w) + 9))
        sep = " " * (3 + extra // 3)
        info_w[0] += extra % 3
        info = [sep.join(row[j].ljust(info_w[j]) for j in range(4)) for row in self.info]
        if len(info[0]) > width:  # a long header: widen the table's first column instead
            grow = len(info[0]) - width
            table = [line[: widths[0]] + " " * grow + line[widths[0]:] for line in table]
            width = len(info[0])
        out = [self.title.center(width).rstrip(), "=" * width]
        out += [line.ljust(width) for line in info]
        out += ["-" * width, table[0], "-" * width] + table[1:] + ["=" * width]
        out += self.extra_txt
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        def cells(row, tag="td"):
            return "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row)

        info = "".join(f"<tr>{cells(r)}</tr>" for r in self.info)
        params = f"<tr>{cells(self.header, 'th')}</tr>" + "".join(f"<tr>{cells(r)}</tr>" for r in self.rows)
        notes = "".join(f"<p>{html.escape(t)}</p>" for t in self.extra_txt)
        return (f"<div><p><b>{html.escape(self.title)}</b></p><table class=\"simpletable\">{info}</table>"
                f"<table class=\"simpletable\">{params}</table>{notes}</div>")


def _row(cells: list[str], widths: list[int], header: bool = False) -> str:
    out = [cells[0].ljust(widths[0])]
    for c, w in zip(cells[1:], widths[1:]):
        out.append(c.center(w) if header else c.rjust(w))
    return " ".join(out)


def _re_values(r: "MixedLMResults") -> list[float]:
    """The variance parameters as statsmodels' summary prints them (not divided by scale)."""
    cov = np.asarray(r._names.cov_re_matrix, dtype=float)
    tril = list(cov[np.tril_indices(cov.shape[0])])
    return tril + list(r.vcomp)
