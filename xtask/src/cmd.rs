//! Running child processes: cargo, Rscript, python3, with wall time, peak
//! memory and a timeout.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A `cargo` command run from the workspace root.
pub fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(args).current_dir(crate::root());
    c
}

/// Runs `c` with inherited output; an error if it fails.
pub fn status(c: &mut Command) -> Result<(), String> {
    let s = c.status().map_err(|e| format!("cannot run {c:?}: {e}"))?;
    if s.success() {
        Ok(())
    } else {
        Err(format!("{c:?} failed ({s})"))
    }
}

/// Whether `prog` is an executable found on PATH.
pub fn on_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// What a timed child process did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Exit success.
    pub ok: bool,
    /// Killed at the timeout.
    pub timed_out: bool,
    /// Captured standard output.
    pub stdout: String,
    /// Captured standard error (without /usr/bin/time's report).
    pub stderr: String,
    /// Wall time of the whole process.
    pub wall: f64,
    /// Peak resident set size in MiB, when measurable.
    pub peak_mb: Option<f64>,
}

const GNU_TIME: &str = "/usr/bin/time";

/// Runs `prog args` with a timeout, measuring wall time and peak RSS (via
/// `/usr/bin/time -v` if present, else by polling `/proc/PID/status`).
pub fn timed(prog: &str, args: &[String], timeout: Duration) -> Outcome {
    let gnu = Path::new(GNU_TIME).is_file();
    let mut c = if gnu {
        Command::new(GNU_TIME)
    } else {
        Command::new(prog)
    };
    if gnu {
        c.arg("-v").arg(prog);
    }
    c.args(args)
        .current_dir(crate::root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    let t0 = Instant::now();
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            return Outcome {
                stderr: format!("cannot start {prog}: {e}"),
                ..Outcome::default()
            }
        }
    };
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let (mut hwm, mut timed_out) = (0u64, false);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if !gnu {
            hwm = hwm.max(vm_hwm_kb(child.id()).unwrap_or(0));
        }
        if t0.elapsed() > timeout {
            timed_out = true;
            kill_group(child.id());
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = t0.elapsed().as_secs_f64();
    let stdout = out.join().unwrap_or_default();
    let raw_err = err.join().unwrap_or_default();
    let (stderr, gnu_kb) = if gnu {
        split_gnu_time(&raw_err)
    } else {
        (raw_err, None)
    };
    let peak_kb = gnu_kb.or((hwm > 0).then_some(hwm));
    Outcome {
        ok: status.is_some_and(|s| s.success()),
        timed_out,
        stdout,
        stderr,
        wall,
        peak_mb: peak_kb.map(|k| k as f64 / 1024.0),
    }
}

fn reader<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = r {
            let _ = r.read_to_string(&mut s);
        }
        s
    })
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Splits GNU time's `-v` report off stderr and reads the peak RSS (KiB).
fn split_gnu_time(stderr: &str) -> (String, Option<u64>) {
    let cut = stderr
        .find("\tCommand being timed:")
        .or_else(|| stderr.find("Command exited with non-zero status"));
    let (own, report) = stderr.split_at(cut.unwrap_or(stderr.len()));
    let kb = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok());
    (own.to_string(), kb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_time_report_is_split_off() {
        let s = "hello\n\tCommand being timed: \"x\"\n\tMaximum resident set size (kbytes): 2048\n";
        let (own, kb) = split_gnu_time(s);
        assert_eq!(own, "hello\n");
        assert_eq!(kb, Some(2048));
    }
}
