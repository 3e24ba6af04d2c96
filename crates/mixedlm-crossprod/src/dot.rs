//! The dot product of the cross-product pass.

/// Dot product with sixteen independent sums (vectorizes, with enough chains that the adds
/// need not wait on each other). The last `len % 16` products go to the first sums; the
/// sums are added pairwise.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 16;
    let mut acc = [0.0; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (s, (x, y)) in acc
        .iter_mut()
        .zip(ca.remainder().iter().zip(cb.remainder()))
    {
        *s = x * y;
    }
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0]
}
