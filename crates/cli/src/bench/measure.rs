//! The bench's instruments: CPU pinning, peak memory of a process, and the
//! physical references (loopback socket, plain SQLite bulk insert).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

fn cpu_set(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain bits; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below the set's capacity (callers pass 0 or 1).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Keeps the calling thread, and threads it starts later, on one CPU.
pub fn pin_current_thread(cpu: usize) -> Result<()> {
    let set = cpu_set(cpu);
    // SAFETY: pid 0 is the calling thread; the set outlives the call.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } != 0 {
        bail!("pinning to CPU {cpu}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// The child runs on one CPU from its first instruction.
pub fn pin_child(cmd: &mut Command, cpu: usize) {
    let set = cpu_set(cpu);
    // SAFETY: sched_setaffinity is async-signal-safe and touches only the
    // child's own (copied) memory between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Peak resident set size of a running process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Result<u64> {
    proc_status_kib(pid, "VmHWM:")
}

/// Resident set size of a running process now, in KiB.
pub fn current_rss_kib(pid: u32) -> Result<u64> {
    proc_status_kib(pid, "VmRSS:")
}

fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc/<pid>/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// CPU time a running process has used so far, user and system, all its
/// threads: what a process "on one core" spends, whether or not it waited.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("reading /proc/<pid>/stat")?;
    // The command name (field 2) may hold spaces; the fields after it do not.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("no command name in /proc/<pid>/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields.get(i).and_then(|f| f.parse::<u64>().ok()).with_context(|| format!("field {i} of stat"))? as f64)
    };
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if per_second <= 0 {
        bail!("no clock tick rate");
    }
    Ok((ticks(11)? + ticks(12)?) / per_second as f64)
}

/// How a waited-for child ended and what it used of the machine.
pub struct Ended {
    pub status: ExitStatus,
    /// Its own peak RSS, in KiB.
    pub rss_kib: u64,
    /// Its CPU time, user and system.
    pub cpu_seconds: f64,
}

/// Waits for the child and returns how it ended and what it used.
pub fn wait_with_rusage(child: &mut Child) -> Result<Ended> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all zeroes is a valid rusage; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own unwaited child; both out-pointers are valid.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        bail!("waiting for process {pid}: {}", std::io::Error::last_os_error());
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Ended {
        status: ExitStatus::from_raw(status),
        rss_kib: usage.ru_maxrss as u64,
        cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
    })
}

/// Seconds to move `bytes` through a plain loopback TCP connection, the
/// sender on CPU 0 when `pinned` (where the service runs).
pub fn loopback_seconds(bytes: u64, pinned: bool) -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let sender = std::thread::spawn(move || -> Result<()> {
        if pinned {
            pin_current_thread(0)?;
        }
        let (mut s, _) = listener.accept()?;
        let chunk = vec![b'x'; 64 << 10];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            s.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
    });
    let started = Instant::now();
    let mut s = TcpStream::connect(addr)?;
    let mut buf = vec![0u8; 64 << 10];
    let mut got = 0u64;
    loop {
        match s.read(&mut buf)? {
            0 => break,
            n => got += n as u64,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    sender.join().map_err(|_| anyhow::anyhow!("the loopback sender panicked"))??;
    anyhow::ensure!(got == bytes, "loopback moved {got} of {bytes} bytes");
    Ok(secs.max(1e-9))
}

/// A table to copy for the SQLite reference: its plain shape (key, no
/// other index) and the columns to copy.
pub struct BulkTable {
    pub name: &'static str,
    pub create: &'static str,
    pub columns: &'static str,
}

/// The register's persons as it stores them (packed).
pub const REGISTER_ROWS: BulkTable = BulkTable {
    name: "person",
    create: "CREATE TABLE person (hetu TEXT PRIMARY KEY, groups TEXT NOT NULL)",
    columns: "hetu, groups",
};

/// The store's change log.
pub const LOG_ROWS: BulkTable = BulkTable {
    name: "change_log",
    create: "CREATE TABLE change_log (cursor INTEGER PRIMARY KEY, person_id INTEGER NOT NULL, registered TEXT NOT NULL,
             kind TEXT NOT NULL, event TEXT NOT NULL, before TEXT, after TEXT NOT NULL)",
    columns: "cursor, person_id, registered, kind, event, before, after",
};

/// Seconds to bulk-insert a SQLite database's rows of `table` into a plain
/// table of the same shape, in one transaction, with the durability
/// settings the register and the store use (WAL, `synchronous=FULL`).
pub fn sqlite_bulk_seconds(source: &Path, table: &BulkTable, dir: &Path) -> Result<f64> {
    let target = dir.join("bulk-reference.db");
    remove_sqlite_files(&target);
    let c = rusqlite::Connection::open(&target)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.execute_batch(table.create)?;
    c.execute("ATTACH DATABASE ?1 AS src", [source.to_string_lossy()])?;
    let (name, columns) = (table.name, table.columns);
    // Read once first so that the reference pays no cold-cache reads.
    c.query_row(&format!("SELECT count(*) FROM src.{name}"), [], |r| r.get::<_, i64>(0))?;
    let started = Instant::now();
    c.execute_batch(&format!("BEGIN; INSERT INTO main.{name} SELECT {columns} FROM src.{name}; COMMIT;"))?;
    let secs = started.elapsed().as_secs_f64();
    drop(c);
    remove_sqlite_files(&target);
    Ok(secs.max(1e-9))
}

/// A SQLite database with its WAL and shared-memory files, gone if it was there.
pub fn remove_sqlite_files(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// The q-quantile of sorted durations (nearest rank).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work() {
        let pid = std::process::id();
        let before = cpu_seconds(pid).unwrap();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let used = cpu_seconds(pid).unwrap() - before;
        assert!((0.2..5.0).contains(&used), "{used} s of CPU for 0.3 s of spinning");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&d, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&d[..1], 0.99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn loopback_moves_every_byte() {
        assert!(loopback_seconds(3 << 20, false).unwrap() > 0.0);
    }
}
