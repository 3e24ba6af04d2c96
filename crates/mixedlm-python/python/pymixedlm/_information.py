"""statsmodels' conditional covariances of each group's random effects
(``random_effects_cov``), from per-group cross-products.

statsmodels parameterizes a model with one grouping factor by the fixed effects β, the
random-effects covariance divided by the residual variance (its lower triangle, row by
row) and each variance component divided by the residual variance. Given those, a group's
random effects have the conditional covariance scale·(I + Ψ Z'Z)⁻¹ Ψ (Woodbury's
identity: only k×k systems per group, where k is the number of random effects in a
group). The joint information behind ``cov_params()`` and ``bse_re`` is the engine's
(``Fit.joint_covariance``, ``Fit.variance_se``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class GroupStats:
    """Cross-products of one grouping factor's groups (statsmodels' model structure)."""

    ztz: np.ndarray  # (G, K, K)
    ztx: np.ndarray  # (G, K, p)
    zty: np.ndarray  # (G, K)
    xtx: np.ndarray  # (p, p)
    xty: np.ndarray  # (p,)
    yty: float
    n: int
    p: int
    # which variance parameter each of the K columns belongs to: ("re", j) for the main
    # term's j-th effect, ("vc", m) for the m-th variance component
    column_param: list[tuple[str, int]]
    k_re: int
    k_vc: int
    present: np.ndarray  # (G, K) whether the column exists for the group
    labels: list[list[tuple[str, object]]]  # per group, per present column: (kind, label)


def group_stats(arrays: dict, group_codes: np.ndarray, main: int | None, vcs: list[int],
                vc_level_names: list[list[str]]) -> GroupStats:
    """Per-group cross-products from the design (`arrays` from ``Fit.design_arrays``).

    `group_codes` gives each used row's group (0..G-1); `main` is the index in
    ``arrays["terms"]`` of the term with one level per group (or None), `vcs` those of the
    variance components (scalar terms nested in the group)."""
    y = np.asarray(arrays["y"], dtype=float)
    n = y.shape[0]
    x = np.asarray(arrays["x"], dtype=float).reshape(-1, n).T if n else np.zeros((0, 0))
    p = x.shape[1]
    G = int(group_codes.max()) + 1 if n else 0
    blocks = []  # (row columns (n, w), per-row column offset (n,), width, kind, param)
    column_param: list[tuple[str, int]] = []
    offset = 0
    k_re = 0
    if main is not None:
        t = arrays["terms"][main]
        k = int(t["k"])
        z = np.asarray(t["z"], dtype=float).reshape(k, n).T
        blocks.append((z, np.full(n, offset), k))
        column_param += [("re", j) for j in range(k)]
        offset += k
        k_re = k
    for m, ti in enumerate(vcs):
        t = arrays["terms"][ti]
        k = int(t["k"])
        z = np.asarray(t["z"], dtype=float).reshape(k, n).T
        codes = np.asarray(t["codes"], dtype=np.int64)
        # rank of each level within its group, in level order
        n_levels = int(codes.max()) + 1
        level_group = np.full(n_levels, -1, dtype=np.int64)
        level_group[codes] = group_codes
        rank = np.zeros(n_levels, dtype=np.int64)
        counts = np.zeros(G, dtype=np.int64)
        for lv in range(n_levels):
            g = level_group[lv]
            if g >= 0:
                rank[lv] = counts[g]
                counts[g] += 1
        width = int(counts.max()) * k
        blocks.append((z, offset + rank[codes] * k, k))
        column_param += [("vc", m)] * width
        offset += width
    K = offset
    rows_cols = np.zeros((n, K))
    member = np.zeros((n, K), dtype=bool)
    for z, off, k in blocks:
        for c in range(k):
            rows_cols[np.arange(n), off + c] = z[:, c]
            member[np.arange(n), off + c] = True
    present = np.zeros((G, K), dtype=bool)
    np.logical_or.at(present, group_codes, member)
    ztz = np.zeros((G, K, K))
    np.add.at(ztz, group_codes, rows_cols[:, :, None] * rows_cols[:, None, :])
    ztx = np.zeros((G, K, p))
    np.add.at(ztx, group_codes, rows_cols[:, :, None] * x[:, None, :])
    zty = np.zeros((G, K))
    np.add.at(zty, group_codes, rows_cols * y[:, None])
    return GroupStats(ztz, ztx, zty, x.T @ x, x.T @ y, float(y @ y), n, p, column_param,
                      k_re, len(vcs), present, [])


def unpack(s: GroupStats, psi: np.ndarray) -> np.ndarray:
    """Ψ (K×K, scaled by the residual variance) from the packed variance parameters."""
    K = len(s.column_param)
    out = np.zeros((K, K))
    k = s.k_re
    tril = np.tril_indices(k)
    cov = np.zeros((k, k))
    cov[tril] = psi[: len(tril[0])]
    cov = cov + np.tril(cov, -1).T
    out[:k, :k] = cov
    vc = psi[len(tril[0]):]
    for c, (kind, m) in enumerate(s.column_param):
        if kind == "vc":
            out[c, c] = vc[m]
    return out


def conditional_covariances(s: GroupStats, psi: np.ndarray, scale: float) -> np.ndarray:
    """Var(b_i | y) per group, statsmodels' ``random_effects_cov``: scale·(I + Ψ Z'Z)⁻¹ Ψ."""
    Psi = unpack(s, psi)
    K = Psi.shape[0]
    A = np.eye(K)[None] + Psi[None] @ s.ztz
    return scale * np.linalg.solve(A, np.broadcast_to(Psi, A.shape))
