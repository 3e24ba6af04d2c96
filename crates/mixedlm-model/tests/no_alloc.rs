//! `objective` allocates nothing: every workspace is preallocated when the model is built.
//! A counting global allocator (this test binary only) checks it.
#![allow(unsafe_code)]

mod common;

use mixedlm_model::{LinearMixedModel, ModelOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn objective_does_not_allocate() {
    // sleepstudy slopes (one term, k = 2), pastes and penicillin (two terms) with the
    // dense block, then pastes and penicillin with the sparse block forced
    for (nn, theta, sparse) in [
        ("sleepstudy", vec![0.9, 0.01, 0.2], false),
        ("pastes", vec![3.5, 1.5], false),
        ("penicillin", vec![1.5, 3.5], false),
        ("pastes", vec![3.5, 1.5], true),
        ("penicillin", vec![1.5, 3.5], true),
    ] {
        let mut model =
            LinearMixedModel::new(&common::model_design(nn), ModelOptions::default()).unwrap();
        assert_eq!(model.set_sparse(sparse), sparse);
        let first = model.objective(&theta);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let second = model.objective(&theta);
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        assert_eq!(first, second);
        assert!(first.is_finite());
        assert_eq!(
            after - before,
            0,
            "{nn}: objective allocated {} times",
            after - before
        );
    }
}
