//! The distributed route (`FrozenLevels`, cross-products records, `MixedLM::fit_sums`):
//! levels frozen from a few rows, partitions accumulated into byte records, merged by a
//! tree of additions, fitted; against the fit in memory. And the records' refusals:
//! another version, another model, truncated or garbage bytes (never a panic).

use mixedlm::model::{CrossProductSums, SumsRecordError, SUMS_FORMAT_VERSION};
use mixedlm::{read_table, Coefficients, Error, FrozenLevels, MixedLM, ModelSpec, RecordBatch};

fn data(name: &str) -> RecordBatch {
    read_table(&mixedlm_fixtures::data_dir().join(name), None).unwrap()
}

fn parts(batch: &RecordBatch, n: usize) -> Vec<RecordBatch> {
    let size = batch.num_rows().div_ceil(n);
    (0..batch.num_rows())
        .step_by(size)
        .map(|s| batch.slice(s, size.min(batch.num_rows() - s)))
        .collect()
}

/// Each partition's record, as the workers would send them.
fn records(levels: &FrozenLevels, parts: &[RecordBatch]) -> Vec<Vec<u8>> {
    parts
        .iter()
        .map(|p| {
            let mut sums = levels.empty_sums().unwrap();
            levels.accumulate(&mut sums, p).unwrap();
            sums.to_bytes()
        })
        .collect()
}

/// Pairwise additions until one record is left (a tree reduction).
fn tree_merge(levels: &FrozenLevels, mut recs: Vec<Vec<u8>>) -> Vec<u8> {
    while recs.len() > 1 {
        recs = recs
            .chunks(2)
            .map(|c| match c {
                [a, b] => levels.merge_records(a, b).unwrap(),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    recs.pop().unwrap()
}

fn close(a: f64, b: f64, rel: f64, what: &str) {
    assert!(
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0),
        "{what}: {a} vs {b}"
    );
}

fn check(file: &str, model: MixedLM) {
    let all = data(file);
    // the levels travel as bytes, as to the workers
    let shipped = FrozenLevels::from_level_rows(model.spec(), std::slice::from_ref(&all))
        .unwrap()
        .to_bytes()
        .unwrap();
    let levels = FrozenLevels::from_bytes(&shipped).unwrap();
    let memory = model.fit_batch(&all).unwrap();
    for n in [1, 7, 64] {
        let merged = tree_merge(&levels, records(&levels, &parts(&all, n)));
        let sums = levels.read_sums(&merged).unwrap();
        let r = model.fit_sums(&levels, &sums).unwrap();
        close(r.objective(), memory.objective(), 1e-8, "objective");
        assert_eq!(r.fe_names(), memory.fe_names());
        assert_eq!(r.nobs(), memory.nobs());
        for (a, b) in r.fe_params().iter().zip(memory.fe_params()) {
            close(*a, *b, 1e-5, "fixed effect");
        }
        let fitted = levels.fitted(&Coefficients::of(&r, &levels), &all).unwrap();
        for (a, b) in fitted.fitted.iter().zip(memory.fittedvalues()) {
            close(*a, *b, 1e-5, "fitted value");
        }
        assert_eq!(fitted.row_index.len(), memory.fittedvalues().len());
    }
}

#[test]
fn partitions_merged_from_records_fit_as_in_memory() {
    check(
        "sleepstudy.csv",
        MixedLM::from_formula("Reaction ~ Days + (Days | Subject)"),
    );
    check(
        "penicillin.csv",
        MixedLM::from_formula("diameter ~ 1 + (1 | plate) + (1 | sample)").reml(false),
    );
    check(
        "pastes.csv",
        MixedLM::from_formula("strength ~ 1")
            .groups("batch")
            .vc("cask", "0 + C(cask)"),
    );
}

#[test]
fn level_rows_with_one_row_per_level_freeze_the_same_levels() {
    let all = data("pastes.csv");
    let spec = ModelSpec::new("strength ~ 1 + (1 | batch/cask)");
    let whole = FrozenLevels::from_level_rows(&spec, std::slice::from_ref(&all)).unwrap();
    // every 2nd row holds all batch:cask pairs (each appears twice, in consecutive rows)
    let idx = arrow_array::UInt32Array::from_iter_values((0..all.num_rows() as u32).step_by(2));
    let few = arrow_select::take::take_record_batch(&all, &idx).unwrap();
    let frozen = FrozenLevels::from_level_rows(&spec, &[few]).unwrap();
    assert_eq!(
        frozen.empty_sums().unwrap().layout_fingerprint(),
        whole.empty_sums().unwrap().layout_fingerprint()
    );
    let cols = mixedlm::level_columns(&spec).unwrap();
    assert!(
        cols.contains(&(vec!["batch".into(), "cask".into()], true)),
        "{cols:?}"
    );
    assert!(cols.contains(&(vec!["batch".into()], true)), "{cols:?}");
}

fn sleep_levels(formula: &str) -> (FrozenLevels, Vec<u8>) {
    let all = data("sleepstudy.csv");
    let levels =
        FrozenLevels::from_level_rows(&ModelSpec::new(formula), std::slice::from_ref(&all))
            .unwrap();
    let rec = records(&levels, &[all]).pop().unwrap();
    (levels, rec)
}

#[test]
fn record_round_trip_is_exact() {
    let (levels, rec) = sleep_levels("Reaction ~ Days + (Days | Subject)");
    let back = levels.read_sums(&rec).unwrap();
    assert_eq!(back.to_bytes(), rec);
    assert_eq!(back.n_obs(), 180);
    assert_eq!(&rec[8..12], &SUMS_FORMAT_VERSION.to_le_bytes());
}

#[test]
fn record_of_another_version_or_model_is_refused() {
    let (levels, rec) = sleep_levels("Reaction ~ Days + (Days | Subject)");
    let mut newer = rec.clone();
    newer[8] = newer[8].wrapping_add(1);
    let err = levels.read_sums(&newer).unwrap_err();
    assert!(
        matches!(err, Error::SumsRecord(SumsRecordError::Version { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("same mixedlm version"), "{err}");
    let (_, other) = sleep_levels("Reaction ~ 1 + (Days | Subject)");
    let err = levels.read_sums(&other).unwrap_err();
    assert!(
        matches!(err, Error::SumsRecord(SumsRecordError::OtherModel { .. })),
        "{err}"
    );
    // the same columns with fewer levels is another model too
    let all = data("sleepstudy.csv");
    let spec = ModelSpec::new("Reaction ~ Days + (Days | Subject)");
    let part = FrozenLevels::from_level_rows(&spec, &[all.slice(0, 60)]).unwrap();
    let err = part.read_sums(&rec).unwrap_err();
    assert!(matches!(
        err,
        Error::SumsRecord(SumsRecordError::OtherModel { .. })
    ));
    // REML or ML does not matter to the record
    let (levels2, _) = sleep_levels("Reaction ~ Days + (Days | Subject)");
    assert!(levels2.read_sums(&rec).is_ok());
}

#[test]
fn truncated_or_garbage_records_are_errors_not_panics() {
    let (levels, rec) = sleep_levels("Reaction ~ Days + (Days | Subject)");
    for len in 0..rec.len() {
        let err = levels.read_sums(&rec[..len]).unwrap_err();
        assert!(matches!(err, Error::SumsRecord(_)), "{len}: {err}");
    }
    let mut longer = rec.clone();
    longer.push(0);
    assert!(levels.read_sums(&longer).is_err());
    assert!(matches!(
        levels
            .read_sums(b"hello, world, this is not a record")
            .unwrap_err(),
        Error::SumsRecord(SumsRecordError::NotARecord)
    ));
    // a crossed model's record has blocks: corrupt their indices and counts
    let all = data("penicillin.csv");
    let spec = ModelSpec::new("diameter ~ 1 + (1 | plate) + (1 | sample)");
    let crossed = FrozenLevels::from_level_rows(&spec, std::slice::from_ref(&all)).unwrap();
    let rec = records(&crossed, &[all]).pop().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..2000 {
        let mut bad = rec.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = 20 + (state as usize) % (bad.len() - 20);
            bad[at] = (state >> 32) as u8;
        }
        // any outcome but a panic: corrupt floats still decode
        let _ = crossed.read_sums(&bad);
    }
    let empty = crossed.empty_sums().unwrap();
    assert!(CrossProductSums::from_bytes(&rec, &empty).is_ok());
}

#[test]
fn levels_record_round_trips_and_refuses_bad_bytes() {
    let all = data("pastes.csv");
    let spec = ModelSpec::new("strength ~ 1")
        .groups("batch")
        .vc("cask", "0 + C(cask)");
    let levels = FrozenLevels::from_level_rows(&spec, &[all]).unwrap();
    let bytes = levels.to_bytes().unwrap();
    let back = FrozenLevels::from_bytes(&bytes).unwrap();
    assert_eq!(back.spec().vc_formulas(), spec.vc_formulas());
    assert_eq!(back.spec().groups_column(), Some("batch"));
    assert_eq!(
        back.empty_sums().unwrap().layout_fingerprint(),
        levels.empty_sums().unwrap().layout_fingerprint()
    );
    for len in (0..bytes.len()).step_by(7) {
        assert!(FrozenLevels::from_bytes(&bytes[..len]).is_err(), "{len}");
    }
    let mut other = bytes.clone();
    other[8] = 9;
    let err = FrozenLevels::from_bytes(&other).unwrap_err();
    assert!(err.to_string().contains("format version 9"), "{err}");
}
