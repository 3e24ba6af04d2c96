//! Issue 28's cases on the command line, one named test each (`cargo test trust_`).

use crate::common::{data, ok_json, rel, run};
use serde_json::Value;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn trust_cli_vc_without_re_formula_warns_and_fits_statsmodels_model() {
    let args = [
        "fit",
        &data("pastes.csv"),
        "-f",
        "strength ~ 1",
        "--groups",
        "batch",
        "--vc",
        "cask=0 + C(cask)",
        "--format",
        "json",
    ];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: variance components (cask)"), "{err}");
    assert!(err.contains("--re-formula 1"), "{err}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(json["lme4_formula"], "strength ~ 1 + (1 | batch:cask)");
    // statsmodels 0.15's log-likelihood for this model.
    assert!((f(&json["log_likelihood"]) - (-123.824_200_89)).abs() < 1e-6);
    // With --re-formula 1: lme4's nesting, no warning.
    let mut nested = args.to_vec();
    nested.extend(["--re-formula", "1"]);
    let out = run(&nested);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["warnings"].as_array().unwrap().is_empty());
    assert_eq!(
        json["lme4_formula"],
        "strength ~ 1 + (1 | batch) + (1 | batch:cask)"
    );
}

#[test]
fn trust_cli_groups_on_a_formula_random_factor_is_an_error() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "--groups",
        "Subject",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("(1 | Subject)") && err.contains("--groups Subject"),
        "{err}"
    );
}

#[test]
fn trust_cli_bse_re_is_statsmodels_and_variance_scale_se_stays() {
    let json = ok_json(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days",
        "--groups",
        "Subject",
        "--re-formula",
        "~Days",
        "--bse-re",
        "--format",
        "json",
    ]);
    let sm = json["bse_re"].as_array().unwrap();
    assert_eq!(sm[0]["parameter"], "Subject Var");
    // statsmodels 0.15: bse_re = [11.880898, 1.820516, 0.609527].
    assert!(rel(f(&sm[0]["std_error"]), 11.880_898) < 2e-4);
    assert!(rel(f(&sm[2]["std_error"]), 0.609_527) < 2e-4);
    let var = json["variance_component_se"].as_array().unwrap();
    assert_eq!(var[0]["parameter"], "var_(Intercept)|Subject");
    assert_eq!(var.last().unwrap()["parameter"], "var_Residual");
}

#[test]
fn trust_cli_compare_accepts_statsmodels_flags() {
    let json = ok_json(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days",
        "-f",
        "Reaction ~ Days",
        "--groups",
        "Subject",
        "--re-formula",
        "1",
        "--re-formula",
        "~Days",
        "--format",
        "json",
    ]);
    let lme4 = ok_json(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "-f",
        "Reaction ~ Days + (Days | Subject)",
        "--format",
        "json",
    ]);
    assert!(rel(f(&json["tests"][0]["chisq"]), f(&lme4["tests"][0]["chisq"])) < 1e-8);
    assert_eq!(
        json["models"][1]["formula"],
        "Reaction ~ Days + (1 + Days | Subject)"
    );
    // --vc for every model.
    let vc = ok_json(&[
        "compare",
        &data("pastes.csv"),
        "-f",
        "strength ~ 1",
        "-f",
        "strength ~ 1",
        "--groups",
        "batch",
        "--vc",
        "cask=0 + C(cask)",
        "--re-formula",
        "0",
        "--re-formula",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(vc["models"].as_array().unwrap().len(), 2);
    // A --re-formula count that is neither 1 nor the number of formulas is refused.
    let out = run(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days",
        "-f",
        "Reaction ~ Days",
        "-f",
        "Reaction ~ 1",
        "--groups",
        "Subject",
        "--re-formula",
        "1",
        "--re-formula",
        "~Days",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("once per formula"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn trust_cli_statsmodels_method_and_reml_point_to_the_right_options() {
    let base = [
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
    ];
    let mut method = base.to_vec();
    method.extend(["--method", "powell"]);
    let out = run(&method);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--optimizer powell"), "{err}");
    let mut nm = base.to_vec();
    nm.extend(["--method", "nm"]);
    assert!(stderr(&run(&nm)).contains("--optimizer nelder-mead"));
    for reml in [vec!["--reml", "false"], vec!["--reml=False"]] {
        let mut args = base.to_vec();
        args.extend(reml);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("--ml"), "{}", stderr(&out));
    }
    let mut bare = base.to_vec();
    bare.push("--reml");
    let out = run(&bare);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("REML is the default"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "-f",
        "Reaction ~ Days + (Days | Subject)",
        "--reml",
        "false",
    ]);
    assert!(stderr(&out).contains("--ml"), "{}", stderr(&out));
}

/// Run `mixedlm` with its standard error a pipe whose reading end is closed.
fn run_with_closed_stderr(args: &[&str], env: Option<(&str, &str)>) -> std::process::ExitStatus {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mixedlm"));
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    drop(child.stderr.take());
    child.wait().unwrap()
}

#[test]
fn trust_cli_panic_hook_survives_a_closed_stderr() {
    // A panic: the hook's message cannot be written, and it still exits 101, not 134.
    let status = run_with_closed_stderr(&["--help"], Some(("MIXEDLM_TEST_PANIC", "1")));
    assert_eq!(status.code(), Some(101), "{status:?}");
    // An error message to a closed stderr is no panic either: exit 2.
    let status =
        run_with_closed_stderr(&["fit", "no-such-file.csv", "-f", "y ~ x + (1 | g)"], None);
    assert_eq!(status.code(), Some(2), "{status:?}");
    // A warning to a closed stderr does not stop the fit.
    let status = run_with_closed_stderr(
        &[
            "fit",
            &data("pastes.csv"),
            "-f",
            "strength ~ 1",
            "--groups",
            "batch",
            "--vc",
            "cask=0 + C(cask)",
        ],
        None,
    );
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn trust_cli_output_equal_to_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sleep.csv");
    std::fs::copy(data("sleepstudy.csv"), &csv).unwrap();
    let before = std::fs::read(&csv).unwrap();
    let csv_s = csv.display().to_string();
    // The same file by another spelling (./, ..) is still the input.
    let other = dir.path().join(".").join("sleep.csv").display().to_string();
    let f = "Reaction ~ Days + (1 | Subject)";
    for args in [
        vec!["fit", &csv_s, "-f", f, "-o", &csv_s],
        vec!["fit", &csv_s, "-f", f, "--output", &other],
        vec![
            "predict",
            &csv_s,
            "-f",
            f,
            "--newdata",
            &csv_s,
            "-o",
            &other,
        ],
        vec!["design", &csv_s, "-f", f, "-o", &csv_s],
        vec![
            "compare",
            &csv_s,
            "-f",
            f,
            "-f",
            "Reaction ~ 1 + (1 | Subject)",
            "-o",
            &csv_s,
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("is the input file"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read(&csv).unwrap(),
            before,
            "{args:?} changed the data"
        );
    }
    // predict: --output equal to --newdata (a different file from DATA).
    let new = dir.path().join("new.csv");
    std::fs::write(&new, "Days,Subject\n1,308\n").unwrap();
    let new_s = new.display().to_string();
    let out = run(&[
        "predict",
        &csv_s,
        "-f",
        f,
        "--newdata",
        &new_s,
        "-o",
        &new_s,
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A hard link to the input is the input.
    let link = dir.path().join("link.csv");
    std::fs::hard_link(&csv, &link).unwrap();
    let out = run(&["fit", &csv_s, "-f", f, "-o", &link.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn trust_cli_predict_keeps_pass_through_column_types() {
    let dir = tempfile::tempdir().unwrap();
    // New data as pandas writes them: an int64 ID beyond 2^53, a zip code with a leading
    // zero, a text column.
    let new = dir.path().join("new.csv");
    std::fs::write(
        &new,
        "id,zip,name,Days,Subject\n9007199254740993,02134,ann,1,308\n-9007199254740995,00501,bob,2,309\n",
    )
    .unwrap();
    let f = "Reaction ~ Days + (1 | Subject)";
    let out = run(&[
        "predict",
        &data("sleepstudy.csv"),
        "-f",
        f,
        "--newdata",
        &new.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[0].starts_with("id,zip,name,Days,Subject,prediction"),
        "{text}"
    );
    assert!(
        rows[1].starts_with("9007199254740993,02134,ann,1,308,"),
        "{text}"
    );
    assert!(
        rows[2].starts_with("-9007199254740995,00501,bob,2,309,"),
        "{text}"
    );
    // To Parquet: the ID stays int64, the zip code text.
    let pq = dir.path().join("pred.parquet");
    let out = run(&[
        "predict",
        &data("sleepstudy.csv"),
        "-f",
        f,
        "--newdata",
        &new.display().to_string(),
        "-o",
        &pq.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let b = mixedlm::read_table_as_written(&pq, None).unwrap();
    let id = b.column_by_name("id").unwrap();
    let id = id
        .as_any()
        .downcast_ref::<mixedlm::arrow_array::Int64Array>()
        .expect("int64 id");
    assert_eq!(id.value(0), 9_007_199_254_740_993);
    let zip = b.column_by_name("zip").unwrap();
    let zip = zip
        .as_any()
        .downcast_ref::<mixedlm::arrow_array::StringArray>()
        .expect("text zip");
    assert_eq!(zip.value(0), "02134");
}

#[test]
fn trust_cli_nsim_is_bounded_by_memory() {
    for nsim in ["18446744073709551615", "10000000000"] {
        let out = run(&[
            "fit",
            &data("dyestuff.csv"),
            "-f",
            "Yield ~ 1 + (1 | Batch)",
            "--ci",
            "bootstrap",
            "--nsim",
            nsim,
        ]);
        assert_eq!(out.status.code(), Some(2), "{nsim}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("memory available") && err.contains("use at most"),
            "{err}"
        );
    }
}

#[test]
fn trust_cli_sleepstudy_days_with_one_inf_names_days() {
    // pandas writes an infinity as `inf`: read as a number, so the error is about Days.
    let text = std::fs::read_to_string(data("sleepstudy.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let days = header
        .iter()
        .position(|h| h.trim_matches('"') == "Days")
        .unwrap();
    let mut fields: Vec<String> = lines[5].split(',').map(str::to_owned).collect();
    fields[days] = "inf".into();
    lines[5] = fields.join(",");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = run(&[
        "fit",
        &p.display().to_string(),
        "-f",
        "Reaction ~ Days + (Days | Subject)",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("Days") && err.to_lowercase().contains("inf"),
        "{err}"
    );
}

#[test]
fn trust_cli_quoted_numbers_in_a_covariate_are_noted() {
    let text = std::fs::read_to_string(data("sleepstudy.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let days = header
        .iter()
        .position(|h| h.trim_matches('"') == "Days")
        .unwrap();
    let mut fields: Vec<String> = lines[7].split(',').map(str::to_owned).collect();
    fields[days] = format!("\"{}\"", fields[days]);
    lines[7] = fields.join(",");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = run(&[
        "fit",
        &p.display().to_string(),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: column `Days` holds numbers, some of them in quotes"),
        "{}",
        stderr(&out)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["warnings"][0].as_str().unwrap().contains("`Days`"));
}

/// sleepstudy with extra columns: `D2` = 2 Days (aliased), `big` = Days × 1e160, `one` =
/// Days with one value 1e308.
fn sleepstudy_with_extreme_columns(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(data("sleepstudy.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let days = header
        .split(',')
        .position(|h| h.trim_matches('"') == "Days")
        .unwrap();
    let mut out = format!("{header},D2,big,one\n");
    for (i, line) in lines.enumerate() {
        let d: f64 = line.split(',').nth(days).unwrap().parse().unwrap();
        let one = if i == 0 { 1e308 } else { d };
        out.push_str(&format!("{line},{},{:e},{:e}\n", 2.0 * d, d * 1e160, one));
    }
    let p = dir.join("s.csv");
    std::fs::write(&p, out).unwrap();
    p.display().to_string()
}

#[test]
fn trust_cli_aliased_columns_are_listed_with_a_message_each() {
    let dir = tempfile::tempdir().unwrap();
    let p = sleepstudy_with_extreme_columns(dir.path());
    let json = ok_json(&[
        "fit",
        &p,
        "-f",
        "Reaction ~ Days + D2 + (1 | Subject)",
        "--format",
        "json",
    ]);
    assert_eq!(json["aliased"], serde_json::json!(["D2"]));
    let messages = json["diagnostics"]["messages"].as_array().unwrap();
    let aliased: Vec<&Value> = messages.iter().filter(|m| m["code"] == "aliased").collect();
    assert_eq!(aliased.len(), 1, "{messages:?}");
    assert!(aliased[0]["text"].as_str().unwrap().contains("`D2`"));
    // Nothing dropped: an empty list.
    let json = ok_json(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "--format",
        "json",
    ]);
    assert_eq!(json["aliased"], serde_json::json!([]));
}

#[test]
fn trust_cli_extreme_columns_are_not_dropped_as_rank_deficient() {
    let dir = tempfile::tempdir().unwrap();
    let p = sleepstudy_with_extreme_columns(dir.path());
    for column in ["big", "one"] {
        // `mixedlm design` keeps the column (the rank test is scale-free) ...
        let design = ok_json(&[
            "design",
            &p,
            "-f",
            &format!("Reaction ~ {column} + (1 | Subject)"),
            "--format",
            "json",
        ]);
        assert_eq!(design["aliased"], serde_json::json!([]), "{column}");
        assert_eq!(design["x_columns"][1], column);
        // ... and the fit says which column is out of range instead of dropping it.
        let out = run(&[
            "fit",
            &p,
            "-f",
            &format!("Reaction ~ {column} + (1 | Subject)"),
        ]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("column `{column}`")) && err.contains("rescale"),
            "{err}"
        );
    }
}

/// `y ~ secs + (secs | g)` data (a random slope per second instead of per hour), 100
/// groups of 20, from a fixed seed, as a CSV file.
fn seconds_csv(dir: &std::path::Path) -> String {
    let mut state = 0x2028_u64;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut normal = move || {
        let (u1, u2) = (uniform().max(1e-300), uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut text = String::from("g,secs,y\n");
    for group in 0..100 {
        let (b0, b1) = (5.0 * normal(), 0.3 * normal());
        for _ in 0..20 {
            let h = 24.0 * (0.5 + 0.5 * normal().tanh());
            let y = 100.0 + 2.0 * h + b0 + b1 * h + 4.0 * normal();
            text.push_str(&format!("g{group:03},{},{y}\n", h * 3600.0));
        }
    }
    let p = dir.join("secs.csv");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn trust_cli_converged_is_checked_and_strict_fails_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let p = seconds_csv(dir.path());
    let f = "y ~ secs + (secs | g)";
    // BFGS stops short on this scaling: converged false with the reason, --strict exits 1.
    let json = ok_json(&[
        "fit",
        &p,
        "-f",
        f,
        "--optimizer",
        "bfgs",
        "--format",
        "json",
    ]);
    assert_eq!(json["converged"], false);
    assert!(json["convergence_failure"]
        .as_str()
        .unwrap()
        .contains("bfgs"));
    let out = run(&["fit", &p, "-f", f, "--optimizer", "bfgs", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did not converge (--strict)"),
        "{}",
        stderr(&out)
    );
    // The advice of the diagnostics never names the optimizer that just ran.
    for m in json["diagnostics"]["messages"].as_array().unwrap() {
        assert!(
            !m["advice"].as_str().unwrap().contains("--optimizer bfgs`"),
            "{m}"
        );
    }
    // BOBYQA, polished by BFGS on the gradient, reaches the optimum and says so.
    let json = ok_json(&[
        "fit",
        &p,
        "-f",
        f,
        "--optimizer",
        "bobyqa",
        "--format",
        "json",
    ]);
    assert_eq!(json["converged"], true, "{}", json["convergence_failure"]);
    assert!(json["convergence_failure"].is_null());
    let out = run(&["fit", &p, "-f", f, "--optimizer", "bobyqa", "--strict"]);
    assert_eq!(out.status.code(), Some(0));
}
