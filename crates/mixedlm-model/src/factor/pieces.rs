//! The objective's ingredients a factorization leaves: log-determinants and r².

/// The rest block's part of the objective's ingredients.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RestPieces {
    /// log det(L_rr)² (the later terms' part of Lzz).
    pub logdet_z: f64,
    /// log det(Lxx)².
    pub logdet_x: f64,
    /// r² = Lyy².
    pub pwrss: f64,
}

/// The profiled objective's ingredients at the last successful factorization.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pieces {
    /// log det(Lzz)² = log det(Λ'Z'WZΛ + I).
    pub logdet_z: f64,
    /// log det(Lxx)².
    pub logdet_x: f64,
    /// r²: the penalized weighted residual sum of squares at (û, β̂).
    pub pwrss: f64,
}
