//! Complete separation in a GLMM is reported, never passed off as a converged estimate.

use mixedlm::arrow_array::{Float64Array, StringArray};
use mixedlm::{glmer, RecordBatch};
use std::sync::Arc;

/// 30 groups of 20 rows, treatments `a`, `b`, `c` in turn; an event with probability
/// 0.35 (a), 0.6 (b) from a fixed stream, and never under `c` when `separate`.
fn trials(separate: bool) -> RecordBatch {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut y, mut trt, mut g) = (vec![], vec![], vec![]);
    for group in 0..30 {
        for i in 0..20 {
            let t = ["a", "b", "c"][i % 3];
            let p = match t {
                "a" => 0.35,
                "b" => 0.6,
                _ if separate => 0.0,
                _ => 0.2,
            };
            y.push(f64::from(uniform() < p));
            trt.push(t);
            g.push(format!("g{group}"));
        }
    }
    RecordBatch::try_from_iter([
        ("y", Arc::new(Float64Array::from(y)) as _),
        ("trt", Arc::new(StringArray::from(trt)) as _),
        ("g", Arc::new(StringArray::from(g)) as _),
    ])
    .unwrap()
}

#[test]
fn glmm_complete_separation_is_reported_and_not_converged() {
    let fit = glmer("y ~ trt + (1 | g)", &trials(true), "binomial").unwrap();
    let sep = fit.separated();
    assert_eq!(sep.len(), 1, "{sep:?}");
    assert_eq!(sep[0].name, "trtc");
    assert_eq!(sep[0].direction, -1.0);
    assert!(!fit.converged());
    let messages = fit.checks().messages;
    assert!(messages
        .iter()
        .any(|m| m.contains("complete separation") && m.contains("trtc")));
    assert!(
        !messages.iter().any(|m| m.contains("rescale")),
        "{messages:?}"
    );
    let text = fit.summary().to_string();
    let row = text.lines().find(|l| l.starts_with("trtc")).unwrap();
    assert!(row.contains("-Inf") && row.contains("NA"), "{row}");
}

#[test]
fn glmm_without_separation_has_no_such_report() {
    let fit = glmer("y ~ trt + (1 | g)", &trials(false), "binomial").unwrap();
    assert!(fit.separated().is_empty());
    assert!(fit.converged());
    assert!(!fit.summary().to_string().contains("Inf"));
}
