//! mixedlm-design: from an Arrow `RecordBatch` and a parsed formula to y, X and the
//! random-effects terms, plus readers for CSV, Parquet and Arrow IPC.
//!
//! Depends on `mixedlm-formula` and Arrow; knows nothing of faer or of fitting.

mod design;
pub use design::*;
