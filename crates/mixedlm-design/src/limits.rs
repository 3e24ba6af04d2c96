//! What the machine allows: the memory a reader may decode into, or a computation the user
//! asks for may allocate.

/// Memory available to this process now, in bytes: Linux's `MemAvailable`; `None` where it
/// is unknown.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// [`available_memory`], or 16 GiB where it is unknown: the most one allocation that a
/// file or an option asks for may take.
pub fn memory_budget() -> u64 {
    available_memory().unwrap_or(16 << 30)
}
