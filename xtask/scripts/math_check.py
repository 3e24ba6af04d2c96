# docs/MATH.md's formulas checked with numpy (run: python3 xtask/scripts/math_check.py).
# Checks the formulas of docs/MATH.md on sleepstudy (slopes) and penicillin (crossed):
# the profiled REML criterion and ML deviance from the blocked factor equal the marginal
# Gaussian likelihood computed directly from V = sigma^2 (W^-1 + Z Lambda Lambda' Z'), at
# lme4's theta; the PWLS solution read off the factor solves the normal equations; the
# fixed-beta modes and pwrss_at formula; and the gradient formula against differences.
import numpy as np, json, csv, os
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'data')
def read(name):
    rows = list(csv.DictReader(open(f'{DATA}/{name}.csv')))
    return rows
def factor(col):
    levels = sorted(set(col)); idx = {l: i for i, l in enumerate(levels)}
    return np.array([idx[c] for c in col]), len(levels)

def sleepstudy():
    r = read('sleepstudy'); n = len(r)
    days = np.array([float(x['Days']) for x in r]); y = np.array([float(x['Reaction']) for x in r])
    g, G = factor([x['Subject'] for x in r])
    X = np.column_stack([np.ones(n), days])
    Z = np.zeros((n, 2 * G))
    for i in range(n): Z[i, 2 * g[i]] = 1; Z[i, 2 * g[i] + 1] = days[i]
    def lam(th):
        T = np.array([[th[0], 0], [th[1], th[2]]]); return np.kron(np.eye(G), T)
    return y, X, Z, lam, 3

def penicillin():
    r = read('penicillin'); n = len(r)
    y = np.array([float(x['diameter']) for x in r])
    a, A = factor([x['plate'] for x in r]); b, B = factor([x['sample'] for x in r])
    X = np.ones((n, 1)); Z = np.zeros((n, A + B))
    for i in range(n): Z[i, a[i]] = 1; Z[i, A + b[i]] = 1
    def lam(th): return np.diag([th[0]] * A + [th[1]] * B)
    return y, X, Z, lam, 2

def direct(y, X, Z, L, w, reml):
    # -2 log L maximized over beta and sigma (ML), or the REML criterion, from V
    n, p = X.shape
    V0 = np.diag(1 / w) + Z @ L @ L.T @ Z.T
    Vi = np.linalg.inv(V0)
    beta = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
    e = y - X @ beta; q = e @ Vi @ e
    d = n - p if reml else n
    s2 = q / d
    _, ld = np.linalg.slogdet(V0)
    out = ld + d * np.log(2 * np.pi * s2) + q / s2
    if reml:
        out += np.linalg.slogdet(X.T @ Vi @ X)[1]
    return out

def blocked(y, X, Z, L, w, reml):
    n, p = X.shape; q = Z.shape[1]
    R = np.column_stack([Z, X, y]) * np.sqrt(w)[:, None]
    A = R.T @ R
    D = np.eye(q + p + 1); D[:q, :q] = L
    J = np.zeros_like(A); J[:q, :q] = np.eye(q)
    Om = D.T @ A @ D + J
    Lf = np.linalg.cholesky(Om)
    diag = np.diag(Lf)
    ldz = 2 * np.log(diag[:q]).sum(); ldx = 2 * np.log(diag[q:q + p]).sum(); r2 = diag[-1] ** 2
    d = n - p if reml else n
    obj = ldz - np.log(w).sum() + d * (1 + np.log(2 * np.pi * r2 / d)) + (ldx if reml else 0)
    # the PWLS solution: L' v = lyy e_n with v = (-u, -beta, 1)
    v = np.linalg.solve(Lf.T, np.eye(q + p + 1)[-1] * diag[-1])
    u, beta = -v[:q], -v[q:q + p]
    return obj, u, beta, Lf, r2

for name, (y, X, Z, lam, nt) in [('sleepstudy', sleepstudy()), ('penicillin', penicillin())]:
    nn = '01' if name == 'sleepstudy' else '06'
    rng = np.random.default_rng(1); w = rng.uniform(0.5, 1.5, len(y))
    for crit in ['reml', 'ml']:
        ref = json.load(open(f'{DATA}/reference/{nn}_{name}_{crit}.json'))
        th = ref['theta'] if isinstance(ref['theta'], list) else [ref['theta']]
        L = lam(th)
        ones = np.ones(len(y))
        o1 = direct(y, X, Z, L, ones, crit == 'reml'); o2, u, beta, Lf, r2 = blocked(y, X, Z, L, ones, crit == 'reml')
        print(name, crit, 'lme4', ref['objective'], 'direct', o1, 'blocked', o2)
        # weighted: the blocked formula with -sum log w equals the direct likelihood
        print('  weighted: direct', direct(y, X, Z, L, w, crit == 'reml'), 'blocked', blocked(y, X, Z, L, w, crit == 'reml')[0])
        # normal equations of the PWLS at (u, beta)
        e = y - X @ beta - Z @ L @ u
        print('  normal equations residual', np.abs(L.T @ Z.T @ e - u).max(), np.abs(X.T @ e).max())
        # fixed beta: u(beta) = Lzz^-T (lyz' - Lxz' beta); pwrss = r2 + |Lxx'(beta - beta_hat)|^2
        q = Z.shape[1]; p = X.shape[1]
        b2 = beta + 0.7
        ub = np.linalg.solve(Lf[:q, :q].T, Lf[-1, :q] - Lf[q:q + p, :q].T @ b2)
        e2 = y - X @ b2 - Z @ L @ ub
        direct_pw = e2 @ e2 + ub @ ub
        formula = r2 + np.sum((Lf[q:q + p, q:q + p].T @ (b2 - beta)) ** 2)
        best = np.linalg.solve(L.T @ Z.T @ Z @ L + np.eye(q), L.T @ Z.T @ (y - X @ b2))
        print('  fixed beta: pwrss direct', direct_pw, 'formula', formula, 'u error', np.abs(best - ub).max())
        # gradient: 2 sum E o (G - d/r2 H)' against central differences of the blocked objective
        d = len(y) - p if crit == 'reml' else len(y)
        def f(t): return blocked(y, X, Z, lam(t), ones, crit == 'reml')[0]
        D = np.eye(q + p + 1); D[:q, :q] = L
        R = np.column_stack([Z, X, y]); A = R.T @ R
        Om = D.T @ A @ D; Om[:q, :q] += np.eye(q)
        P = q + p if crit == 'reml' else q
        OmPi = np.linalg.inv(Om[:P, :P])
        grad = []
        for j in range(nt):
            h = 1e-6; tp = list(th); tm = list(th); tp[j] += h; tm[j] -= h
            dL = (lam(tp) - lam(tm)) / (2 * h)
            dD = np.zeros_like(D); dD[:q, :q] = dL
            ldpart = 2 * np.trace(OmPi @ (D.T @ A @ dD)[:P, :P])
            r2part = -2 * e @ Z @ dL @ u
            grad.append(ldpart + d / r2 * r2part)
        fd = [(f([t + (h if i == j else 0) for i, t in enumerate(th)]) - f([t - (h if i == j else 0) for i, t in enumerate(th)])) / (2 * h) for j in range(nt)]
        print('  gradient formula', np.round(grad, 6), 'differences', np.round(fd, 6))
