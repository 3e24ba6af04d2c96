"""A simulated binomial GLMM data set: y ~ 1 + x + (1 + x | g), N rows in G groups.

Usage: python3 glmm_sim.py OUT.csv [N] [G] [SEED]
Truth: beta = (-0.5, 0.8), SD(intercept) = 1.0, SD(slope) = 0.5, correlation 0.3.
"""
import sys

import numpy as np

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
g = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 26)
sd = np.array([1.0, 0.5])
corr = np.array([[1.0, 0.3], [0.3, 1.0]])
b = rng.multivariate_normal([0.0, 0.0], corr * np.outer(sd, sd), size=g)
grp = rng.integers(0, g, size=n)
x = rng.standard_normal(n)
eta = -0.5 + 0.8 * x + b[grp, 0] + b[grp, 1] * x
y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
with open(out, "w") as f:
    f.write('"g","x","y"\n')
    for gi, xi, yi in zip(grp, x, y):
        f.write(f'"g{gi}",{xi:.6f},{yi}\n')
