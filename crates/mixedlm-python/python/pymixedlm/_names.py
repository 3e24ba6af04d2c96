"""Names and shapes: the engine's fit seen with statsmodels' names (patsy's term names and
order, ``Group Var``) or lme4's (``(Intercept)``, ``SexMale``), and group labels with the
type of the data's grouping column (integer IDs stay integers)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from . import _compat, _information
from ._data import column_type, group_values

if TYPE_CHECKING:  # pragma: no cover
    from ._model import MixedLM
    from ._results import MixedLMResults


def level_converter(arrow_type: Any):
    """Engine level strings back to the grouping column's values (``"308"`` -> 308)."""
    if arrow_type is None:
        return str
    if pa.types.is_integer(arrow_type):
        return lambda s: int(s)
    if pa.types.is_floating(arrow_type):
        return lambda s: float(s)
    if pa.types.is_boolean(arrow_type):
        return lambda s: s == "TRUE"
    return str


def _patsy_level(level: str, arrow_type: Any) -> str:
    """A level as patsy prints it in a column name (``2.0`` for a float column's 2)."""
    if arrow_type is not None and pa.types.is_floating(arrow_type):
        try:
            return str(float(level))
        except ValueError:
            return level
    if arrow_type is not None and pa.types.is_boolean(arrow_type):
        return "True" if level == "TRUE" else "False"
    return level


class Naming:
    """What the results need to name things: built once per fit."""

    def __init__(self, fit: Any, model: "MixedLM"):
        self.fit = fit
        self.model = model
        # the terms' structure; their values (levels, BLUPs) are `terms`, read when asked for
        self.info = fit.random_terms(values=False)
        self.factors = dict(model._labels)
        self._fe()
        self._random()

    # ---- fixed effects ----

    def _fe(self) -> None:
        engine_names = list(self.fit.fe_names)
        described = self.fit.fe_columns()
        if described is None:
            self.fe_names = engine_names
            self.fe_permutation = list(range(len(engine_names)))
            return
        kept = [c for c in described if not c["aliased"]]
        names = [self._patsy_name(c) for c in kept]
        order = _patsy_order(kept)
        self.fe_names = [names[i] for i in order]
        self.fe_permutation = order

    def _patsy_name(self, column: dict) -> str:
        if column["term"] is None:
            return "Intercept"
        out = []
        for label, key, kind, level in column["parts"]:
            patsy = self.factors.get(key, key)
            if kind == "numeric":
                out.append(patsy + level)
                continue
            arg_type = self._factor_type(key, label)
            lv = _patsy_level(level, arg_type)
            tag = {"contrast": "T.", "sum": "S.", "indicator": ""}[kind]
            out.append(f"{patsy}[{tag}{lv}]")
        return ":".join(out)

    def _factor_type(self, key: str, label: str) -> Any:
        column = label.strip("`")
        return column_type(self.model.data, column)

    def fe_order(self, values: Any) -> list[float]:
        v = list(values)
        return [v[i] for i in self.fe_permutation]

    # ---- random effects ----

    def _random(self) -> None:
        model = self.model
        groups = model._group_column
        by_index = sorted(range(len(self.info)), key=lambda i: self.info[i]["formula_index"])
        main = None
        if groups is not None:
            main = next((i for i in by_index if self.info[i]["grouping"] == [groups]), None)
        elif by_index:
            main = by_index[0]
        self.main = main
        if main is not None:
            t = self.info[main]
            self.main_group = t["group"]
            label = model._group_label or t["group"]
            self.re_names = [label if n == "(Intercept)" else self.factors.get(n, n) for n in t["names"]]
            self.cov_re_matrix = np.asarray(t["covariance"], dtype=float)
        else:
            self.main_group = None
            self.re_names = []
            self.cov_re_matrix = np.zeros((0, 0))
        self.group_label = model._group_label or (self.main_group or "Group")
        vc_names = list(model._vc)
        others = [i for i in by_index if i != main]
        self.vc_terms: list[int] = []
        self.vc_names: list[str] = []
        for pos, i in enumerate(others):
            self.vc_terms.append(i)
            self.vc_names.append(vc_names[pos] if pos < len(vc_names) and groups is not None
                                 else self.info[i]["group"])
        self.vcomp_values = [float(self.info[i]["covariance"][0][0]) for i in self.vc_terms]
        # the grouping column of statsmodels' structure: `groups`, or in an lme4 formula
        # the first term's single grouping column
        main_grouping = self.info[main]["grouping"] if main is not None else []
        self.group_column = groups or (main_grouping[0] if len(main_grouping) == 1 else None)

    @cached_property
    def terms(self) -> list[dict]:
        """The random-effects terms with their levels, BLUPs and conditional SDs."""
        return self.fit.random_terms(values=True)

    @property
    def re_param_names(self) -> list[str]:
        names = []
        k = len(self.re_names)
        for i in range(k):
            for j in range(i + 1):
                if i == j:
                    names.append(f"{self.re_names[i]} Var")
                else:
                    names.append(f"{self.re_names[j]} x {self.re_names[i]} Cov")
        return names + [f"{n} Var" for n in self.vc_names]

    def _levels(self, term: dict) -> list[Any]:
        grouping = term["grouping"]
        if len(grouping) != 1:
            return list(term["levels"])
        convert = level_converter(column_type(self.model.data, grouping[0]))
        return [convert(s) for s in term["levels"]]

    def _values(self, term: dict, key: str) -> np.ndarray:
        k = len(term["names"])
        v = np.asarray(term[key], dtype=float)
        return v.reshape(-1, k) if v.size else np.full((len(term["levels"]), k), np.nan)

    @cached_property
    def _statsmodels_structure(self) -> bool:
        """One grouping factor, every other term a scalar term nested in it."""
        g = self.group_column
        if g is None:
            return False
        for i in self.vc_terms:
            t = self.info[i]
            if t["grouping"][0] != g or (len(t["names"]) > 1 and t["structure"] != "scalar"):
                return False
        return self.main is None or self.info[self.main]["structure"] == "unstructured" \
            or len(self.info[self.main]["names"]) == 1

    @cached_property
    def _group_codes(self) -> tuple[np.ndarray, list[Any]] | None:
        """Each used row's group (0..G-1) and the group labels, from the data."""
        g = self.group_column
        values = group_values(self.model.data, g) if g is not None else None
        if values is None:
            return None
        rows = np.asarray(self.fit.row_index(), dtype=np.int64)
        used = np.asarray(values)[rows]
        labels, codes = np.unique(used, return_inverse=True)
        return codes.astype(np.int64), list(labels)

    def group_stats(self, results: "MixedLMResults") -> "_information.GroupStats | None":
        if not self._statsmodels_structure or self._group_codes is None:
            return None
        codes, _ = self._group_codes
        arrays = self.fit.design_arrays()
        order = [t["group"] for t in arrays["terms"]]
        main = order.index(self.info[self.main]["group"]) if self.main is not None else None
        vcs = [order.index(self.info[i]["group"]) for i in self.vc_terms]
        return _information.group_stats(arrays, codes, main, vcs, [])

    def random_effects(self) -> dict:
        """statsmodels' ``random_effects``: {group: Series}."""
        if self.main is None and not self.vc_terms:
            return {}
        out: dict[Any, Any] = {}
        names_by_group: dict[Any, list[str]] = {}
        values_by_group: dict[Any, list[float]] = {}
        if self.main is not None:
            t = self.terms[self.main]
            vals = self._values(t, "condval")
            for lv, row in zip(self._levels(t), vals):
                names_by_group[lv] = list(self.re_names)
                values_by_group[lv] = list(row)
        g = self.group_column
        for name, i in zip(self.vc_names, self.vc_terms):
            t = self.terms[i]
            if g is None or t["grouping"][0] != g:
                continue  # a crossed factor: not one of a group's effects
            vals = self._values(t, "condval")
            nested = len(t["grouping"]) == 2 and t["grouping"][0] == g
            convert = level_converter(column_type(self.model.data, g)) if g else str
            for level, row in zip(t["levels"], vals):
                if nested:
                    group_part, _, class_part = level.partition(":")
                    key = convert(group_part)
                    label = self._vc_column_label(name, t["grouping"][1], class_part)
                    labels = [label]
                else:
                    key = convert(level)
                    labels = [f"{name}[{self.factors.get(n, n)}]" for n in t["names"]]
                names_by_group.setdefault(key, [])
                values_by_group.setdefault(key, [])
                names_by_group[key] += labels
                values_by_group[key] += list(row)
        for key in names_by_group:
            out[key] = _compat.series(values_by_group[key], names_by_group[key])
        return out

    def _vc_column_label(self, name: str, column: str, level: str) -> str:
        """statsmodels' label of a variance component's column: ``class[C(class)[3]]``."""
        formula = self.model._vc.get(name)
        patsy = column
        if formula is not None:
            for engine, user in formula.factors.items():
                if engine.startswith("C(") or engine.strip("`") == column:
                    patsy = user
                    break
        lv = _patsy_level(level, column_type(self.model.data, column))
        return f"{name}[{patsy}[{lv}]]"

    def random_effects_cov(self, results: "MixedLMResults") -> dict:
        """statsmodels' ``random_effects_cov``: {group: DataFrame}, from each group's
        cross-products (models with statsmodels' structure), else from the engine's
        conditional SDs: their squares on the diagonal, NaN off it (the engine computes
        conditional variances, lme4's ``condVar``, not the covariances between them)."""
        stats = self.group_stats(results)
        effects = self.random_effects()
        if stats is None or self._group_codes is None:
            out = {}
            for key, s in effects.items():
                index = list(getattr(s, "index", range(len(s))))
                block = np.full((len(index), len(index)), np.nan)
                np.fill_diagonal(block, self._condsd_for(key, len(index)) ** 2)
                out[key] = _compat.frame(block, index, index)
            return out
        covs = _information.conditional_covariances(stats, results._psi_unscaled(), results.scale)
        _, labels = self._group_codes
        convert = level_converter(column_type(self.model.data, self.group_column))
        out = {}
        for gi, label in enumerate(labels):
            key = convert(str(label)) if not isinstance(label, (int, np.integer)) else int(label)
            present = np.flatnonzero(stats.present[gi])
            if key not in effects:
                continue
            index = list(getattr(effects[key], "index", range(len(present))))
            keep = present[: len(index)] if len(present) >= len(index) else present
            block = covs[gi][np.ix_(keep, keep)]
            out[key] = _compat.frame(block, index[: len(keep)], index[: len(keep)])
        return out

    def _condsd_for(self, key: Any, k: int) -> np.ndarray:
        if self.main is None:
            return np.full(k, np.nan)
        t = self.terms[self.main]
        levels = self._levels(t)
        sd = self._values(t, "condsd")
        if key in levels:
            row = sd[levels.index(key)]
            return np.concatenate([row, np.full(max(0, k - len(row)), np.nan)])[:k]
        return np.full(k, np.nan)

    def ranef(self) -> dict:
        """lme4's ``ranef()``: {grouping factor: DataFrame levels × effects}."""
        merged: dict[str, tuple[list, list[np.ndarray], list[str]]] = {}
        for t in self.terms:  # terms on one factor ((1 | g) + (0 + x | g)) share a table
            levels, blocks, names = merged.setdefault(t["group"], (self._levels(t), [], []))
            blocks.append(self._values(t, "condval"))
            names += t["names"]
        return {g: _compat.frame(np.hstack(b), lv, n) for g, (lv, b, n) in merged.items()}

    def varcorr(self, results: "MixedLMResults | None") -> Any:
        """lme4's ``as.data.frame(VarCorr())``; the ``Residual`` row from `results` (a
        GLMM, without a scale, passes None)."""
        rows = []
        seen: dict[str, int] = {}
        for t in self.info:
            # a factor's second term is `g.1`, as lme4 names it
            count = seen.get(t["group"], 0)
            seen[t["group"]] = count + 1
            grp = t["group"] if count == 0 else f"{t['group']}.{count}"
            names, cov, sd, cor = t["names"], t["covariance"], t["std_devs"], t["correlation"]
            for i, n in enumerate(names):
                rows.append((grp, n, None, cov[i][i], sd[i]))
            if t["structure"] == "unstructured":
                for j in range(len(names)):
                    for i in range(j + 1, len(names)):
                        rows.append((grp, names[j], names[i], cov[i][j], cor[i][j]))
        if results is not None:
            rows.append(("Residual", None, None, results.scale, results.sigma()))
        cols = {"grp": [r[0] for r in rows], "var1": [r[1] for r in rows],
                "var2": [r[2] for r in rows], "vcov": [r[3] for r in rows],
                "sdcor": [r[4] for r in rows]}
        return _compat.table(cols)


def _patsy_order(columns: list[dict]) -> list[int]:
    """patsy's column order: terms without numeric factors first, then terms grouped by
    their numeric factors (groups in order of appearance), by degree within a group; in an
    interaction the last factor varies fastest."""
    terms: dict[Any, dict] = {}
    for j, c in enumerate(columns):
        t = c["term"]
        if t not in terms:
            numeric = frozenset(p[1] for p in c["parts"] if p[2] == "numeric")
            terms[t] = {"numeric": numeric, "degree": len(c["parts"]), "cols": []}
        terms[t]["cols"].append(j)
    buckets: dict[frozenset, list[Any]] = {}
    for t, info in terms.items():
        buckets.setdefault(info["numeric"], []).append(t)
    order_b = list(buckets)
    if frozenset() in buckets:
        order_b.remove(frozenset())
        order_b.insert(0, frozenset())
    out: list[int] = []
    for b in order_b:
        for t in sorted(buckets[b], key=lambda t: terms[t]["degree"]):
            cols = terms[t]["cols"]
            # each part's level index, in order of first appearance
            seen: list[dict] = [dict() for _ in columns[cols[0]]["parts"]]
            keys = []
            for j in cols:
                key = []
                for pos, part in enumerate(columns[j]["parts"]):
                    key.append(seen[pos].setdefault(part[3], len(seen[pos])))
                keys.append((tuple(key), j))
            out += [j for _, j in sorted(keys)]
    return out
