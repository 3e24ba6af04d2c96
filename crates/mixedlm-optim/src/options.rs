//! Solver choice and settings.

use crate::OptimError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The available solvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// BFGS when the objective has an analytic gradient ([`crate::Objective::has_gradient`]),
    /// else BOBYQA. The record names the solver that ran.
    #[default]
    Auto,
    /// Powell's BOBYQA: derivative-free, quadratic models, native bounds (lme4's default).
    Bobyqa,
    /// Quasi-Newton BFGS with a Moré–Thuente line search ([`crate::Bfgs`], an argmin solver).
    Bfgs,
    /// The Nelder-Mead simplex (argmin), restarted until it stops improving.
    NelderMead,
    /// Powell's conjugate-direction method with Brent line searches.
    Powell,
}

impl OptimizerName {
    /// Every solver, in display order.
    pub const ALL: [OptimizerName; 5] = [
        Self::Auto,
        Self::Bobyqa,
        Self::Bfgs,
        Self::NelderMead,
        Self::Powell,
    ];

    /// The solver's name as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Bobyqa => "bobyqa",
            Self::Bfgs => "bfgs",
            Self::NelderMead => "nelder-mead",
            Self::Powell => "powell",
        }
    }
}

impl OptimizerName {
    /// The solver that runs: [`Self::Auto`] becomes BFGS when an analytic gradient is
    /// available and BOBYQA otherwise; every other name is itself.
    pub fn resolve(self, analytic_gradient: bool) -> OptimizerName {
        match self {
            Self::Auto if analytic_gradient => Self::Bfgs,
            Self::Auto => Self::Bobyqa,
            other => other,
        }
    }
}

impl OptimizerName {
    /// Whether the solver uses no derivatives (bobyqa, nelder-mead, powell).
    pub fn is_derivative_free(self) -> bool {
        matches!(self, Self::Bobyqa | Self::NelderMead | Self::Powell)
    }
}

impl fmt::Display for OptimizerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OptimizerName {
    type Err = OptimError;

    /// Case-insensitive; `_` and `-` are interchangeable (`Nelder_Mead`, `neldermead` too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect();
        Self::ALL
            .into_iter()
            .find(|o| o.as_str().replace('-', "") == norm)
            .ok_or_else(|| OptimError::UnknownOptimizer(s.to_string()))
    }
}

/// Settings of [`crate::minimize`]. Build with [`OptimOptions::builder`] (validated) or
/// take [`Default`] and assign fields ([`crate::minimize`] validates again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimOptions {
    /// The solver.
    pub optimizer: OptimizerName,
    /// Lower bounds, one per parameter, or empty for none (-inf).
    pub lower: Vec<f64>,
    /// Upper bounds, one per parameter, or empty for none (+inf).
    pub upper: Vec<f64>,
    /// The objective-evaluation budget (finite-difference evaluations included).
    pub max_evaluations: usize,
    /// Relative change of the objective below which nelder-mead, powell and bfgs stop.
    pub ftol_rel: f64,
    /// Absolute step (in the parameters) below which powell's line searches stop refining.
    pub xtol_abs: f64,
    /// BFGS stops when the gradient's norm is below `gtol_rel * max(1, |f|)`.
    pub gtol_rel: f64,
    /// Initial step: BOBYQA's starting trust-region radius (rho_begin), the initial simplex
    /// edge of nelder-mead, the first bracketing step of powell.
    pub initial_step: f64,
    /// BOBYQA's final trust-region radius (rho_end), its accuracy in the parameters.
    pub final_step: f64,
    /// Record every evaluation (point, value) in [`crate::OptimRecord::log`].
    pub record_log: bool,
    /// Edge values for the restart at the edge: per parameter, a value where the objective
    /// has a boundary (a variance at zero; NaN for none). Empty means the finite lower
    /// bounds. When a converged solver ends with a parameter at its edge, [`crate::minimize`]
    /// restarts once with those parameters half way back to their starting values and keeps the
    /// better optimum (lme4's `restart_edge`).
    #[serde(default)]
    pub edges: Vec<f64>,
    /// A second starting point: [`crate::minimize`] evaluates it too (counted) and starts
    /// from whichever of x0 and this point has the lower objective, with this point's own
    /// initial step when it wins. A caller with a cheap estimate of the optimum (the
    /// model's moment estimates) offers it here without risking a worse start than x0.
    #[serde(default)]
    pub alternative_start: Option<AlternativeStart>,
    /// After a derivative-free solver (bobyqa, nelder-mead, powell), when the objective has
    /// an analytic gradient ([`crate::Objective::has_gradient`]), continue with BFGS from
    /// the best point (bounds by projection) within the remaining budget: a derivative-free
    /// stopping rule can stop on a flat, badly scaled valley far from the optimum, and the
    /// gradient then finishes the descent or confirms the point. Off by default.
    #[serde(default)]
    pub polish: bool,
}

/// A second starting point for [`crate::minimize`] (see [`OptimOptions::alternative_start`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlternativeStart {
    /// The point (full length, within the bounds).
    pub x: Vec<f64>,
    /// The initial step used when this point is the start (in place of
    /// [`OptimOptions::initial_step`]).
    pub initial_step: f64,
}

impl Default for OptimOptions {
    /// Settings for LMM profiled deviances (values ~10-10^6, parameters ~0.01-10): `auto`
    /// (BFGS with an analytic gradient, else bobyqa) with bobyqa's rho_begin 0.2 and rho_end 2e-7 (as lme4), 10 000 evaluations, `ftol_rel`
    /// 1e-12, `gtol_rel` 1e-8, `xtol_abs` 1e-9, no bounds, no log.
    fn default() -> Self {
        OptimOptions {
            optimizer: OptimizerName::Auto,
            lower: Vec::new(),
            upper: Vec::new(),
            max_evaluations: 10_000,
            ftol_rel: 1e-12,
            xtol_abs: 1e-9,
            gtol_rel: 1e-8,
            initial_step: 0.2,
            final_step: 2e-7,
            record_log: false,
            edges: Vec::new(),
            alternative_start: None,
            polish: false,
        }
    }
}

impl OptimOptions {
    /// A builder starting from [`Default`].
    pub fn builder() -> OptimOptionsBuilder {
        OptimOptionsBuilder {
            opts: OptimOptions::default(),
        }
    }

    /// Check the settings that do not depend on the problem's dimension.
    pub fn validate(&self) -> Result<(), OptimError> {
        positive(
            "ftol_rel",
            self.ftol_rel,
            "use a small positive number such as 1e-12",
        )?;
        positive(
            "xtol_abs",
            self.xtol_abs,
            "use a small positive number such as 1e-9",
        )?;
        positive(
            "gtol_rel",
            self.gtol_rel,
            "use a small positive number such as 1e-8",
        )?;
        positive(
            "initial_step",
            self.initial_step,
            "use a positive step such as 0.2",
        )?;
        positive(
            "final_step",
            self.final_step,
            "use a positive step such as 2e-7",
        )?;
        if self.final_step > self.initial_step {
            return Err(OptimError::InvalidOption {
                name: "final_step",
                value: self.final_step.to_string(),
                remedy: "final_step must not exceed initial_step",
            });
        }
        if self.max_evaluations < 4 {
            return Err(OptimError::InvalidOption {
                name: "max_evaluations",
                value: self.max_evaluations.to_string(),
                remedy: "allow at least 2 * dim + 3 evaluations (the default is 10000)",
            });
        }
        Ok(())
    }

    /// Validate for an `n`-parameter problem started at `x0`; returns full-length bounds.
    pub(crate) fn validate_for(
        &self,
        n: usize,
        x0: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), OptimError> {
        self.validate()?;
        length("x0", n, x0.len())?;
        let lower = full_bounds("lower", &self.lower, n, f64::NEG_INFINITY)?;
        let upper = full_bounds("upper", &self.upper, n, f64::INFINITY)?;
        if !self.edges.is_empty() {
            length("edges", n, self.edges.len())?;
        }
        for i in 0..n {
            let (l, u, x) = (lower[i], upper[i], x0[i]);
            if l.is_nan() || u.is_nan() || l > u || l == f64::INFINITY || u == f64::NEG_INFINITY {
                return Err(OptimError::InvalidBounds {
                    index: i,
                    lower: l,
                    upper: u,
                });
            }
            if !x.is_finite() || x < l || x > u {
                return Err(OptimError::StartOutsideBounds {
                    index: i,
                    value: x,
                    lower: l,
                    upper: u,
                });
            }
        }
        if let Some(alt) = &self.alternative_start {
            length("alternative_start", n, alt.x.len())?;
            positive(
                "alternative_start.initial_step",
                alt.initial_step,
                "use a positive step such as 0.1",
            )?;
            for (i, &x) in alt.x.iter().enumerate() {
                if !x.is_finite() || x < lower[i] || x > upper[i] {
                    return Err(OptimError::StartOutsideBounds {
                        index: i,
                        value: x,
                        lower: lower[i],
                        upper: upper[i],
                    });
                }
            }
        }
        if self.max_evaluations < 2 * n + 3 {
            return Err(OptimError::InvalidOption {
                name: "max_evaluations",
                value: self.max_evaluations.to_string(),
                remedy: "allow at least 2 * dim + 3 evaluations (the default is 10000)",
            });
        }
        Ok((lower, upper))
    }
}

fn positive(name: &'static str, v: f64, remedy: &'static str) -> Result<(), OptimError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(OptimError::InvalidOption {
            name,
            value: v.to_string(),
            remedy,
        })
    }
}

fn length(what: &'static str, expected: usize, got: usize) -> Result<(), OptimError> {
    if expected == got {
        Ok(())
    } else {
        Err(OptimError::Dimension {
            what,
            expected,
            got,
        })
    }
}

fn full_bounds(
    what: &'static str,
    given: &[f64],
    n: usize,
    fill: f64,
) -> Result<Vec<f64>, OptimError> {
    if given.is_empty() {
        return Ok(vec![fill; n]);
    }
    length(what, n, given.len())?;
    Ok(given.to_vec())
}

/// Validating builder of [`OptimOptions`].
#[derive(Debug, Clone)]
pub struct OptimOptionsBuilder {
    opts: OptimOptions,
}

impl OptimOptionsBuilder {
    /// The solver.
    pub fn optimizer(mut self, name: OptimizerName) -> Self {
        self.opts.optimizer = name;
        self
    }
    /// Lower and upper bounds (one per parameter; ±inf for none).
    pub fn bounds(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        self.opts.lower = lower;
        self.opts.upper = upper;
        self
    }
    /// Lower bounds only.
    pub fn lower(mut self, lower: Vec<f64>) -> Self {
        self.opts.lower = lower;
        self
    }
    /// The evaluation budget.
    pub fn max_evaluations(mut self, n: usize) -> Self {
        self.opts.max_evaluations = n;
        self
    }
    /// See [`OptimOptions::ftol_rel`].
    pub fn ftol_rel(mut self, v: f64) -> Self {
        self.opts.ftol_rel = v;
        self
    }
    /// See [`OptimOptions::xtol_abs`].
    pub fn xtol_abs(mut self, v: f64) -> Self {
        self.opts.xtol_abs = v;
        self
    }
    /// See [`OptimOptions::gtol_rel`].
    pub fn gtol_rel(mut self, v: f64) -> Self {
        self.opts.gtol_rel = v;
        self
    }
    /// See [`OptimOptions::initial_step`].
    pub fn initial_step(mut self, v: f64) -> Self {
        self.opts.initial_step = v;
        self
    }
    /// See [`OptimOptions::final_step`].
    pub fn final_step(mut self, v: f64) -> Self {
        self.opts.final_step = v;
        self
    }
    /// Record every evaluation.
    pub fn record_log(mut self, on: bool) -> Self {
        self.opts.record_log = on;
        self
    }
    /// The options, validated (bound lengths are checked against the problem later, in
    /// [`crate::minimize`]).
    pub fn build(self) -> Result<OptimOptions, OptimError> {
        self.opts.validate()?;
        if !self.opts.lower.is_empty() && !self.opts.upper.is_empty() {
            length("upper", self.opts.lower.len(), self.opts.upper.len())?;
        }
        for (i, (l, u)) in self.opts.lower.iter().zip(&self.opts.upper).enumerate() {
            if l.is_nan() || u.is_nan() || l > u {
                return Err(OptimError::InvalidBounds {
                    index: i,
                    lower: *l,
                    upper: *u,
                });
            }
        }
        Ok(self.opts)
    }
}
