//! `shoplens sql` runs each statement in a child process of its own (`shoplens sql-worker`), where
//! the operating system enforces what DataFusion's memory pool cannot: the child's data segment is
//! capped (`RLIMIT_DATA`), it is killed when the time limit passes (a scalar function that builds a
//! gigabyte string never yields to an async timeout), and a crash (stack overflow on a deeply
//! nested expression, an allocation refused) ends the child, not the command, which then says
//! what happened and exits 1.

use crate::warehouse::Engine;
use anyhow::{Result, anyhow, bail};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address space the child may use beyond the memory limit: the binary, the runtime, thread
/// stacks, Parquet buffers in flight.
const OVERHEAD: u64 = 1 << 30;
/// How much of the child's error output is kept.
const STDERR_BYTES: u64 = 64 * 1024;

/// Runs `query` in a worker process with `memory` bytes (plus overhead) and `timeout`; the
/// worker writes its formatted result to this process's standard output.
///
/// # Errors
/// The query is refused or fails (the worker's message), runs past `timeout`, or crashes.
pub(super) fn run(
    warehouse: &Path,
    engine: &Engine,
    query: &str,
    format: &str,
    memory: u64,
    timeout: Duration,
) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| anyhow!("cannot find the shoplens binary: {e}"))?;
    let cap = memory.saturating_add(OVERHEAD.max(memory / 2));
    let mut cmd = Command::new(exe);
    cmd.arg("--memory-limit")
        .arg(format!("{}M", (memory >> 20).max(64)))
        .arg("sql-worker")
        .arg("--warehouse")
        .arg(warehouse)
        .arg("--format")
        .arg(format)
        .arg("--engine")
        .arg(engine.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    limit_child(&mut cmd, cap);
    let mut child = cmd.spawn().map_err(|e| anyhow!("cannot start the query worker: {e}"))?;
    {
        // the query goes through stdin: no length limit of the command line, nothing in `ps`
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(query.as_bytes())?;
    }
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = (&mut stderr).take(STDERR_BYTES).read_to_end(&mut text);
        // drain the rest so the child never blocks on a full pipe
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        String::from_utf8_lossy(&text).into_owned()
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("query stopped after {timeout:?}: it ran longer than allowed (--timeout)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let message = stderr.lines().rev().find(|l| l.starts_with("error: ")).map(|l| l.trim_start_matches("error: "));
    if let (Some(1), Some(m)) = (status.code(), message) {
        bail!("{m}");
    }
    let cause = if stderr.contains("overflowed its stack") {
        "the query is nested too deeply (an expression or a chain of UNIONs too long)".to_string()
    } else if stderr.contains("memory allocation") || stderr.contains("out of memory") {
        format!("the query needed more memory than allowed ({} MB with --memory-limit)", cap >> 20)
    } else if stderr.contains("panicked") {
        format!("the query engine failed: {}", stderr.lines().find(|l| l.contains("panicked")).unwrap_or_default())
    } else {
        format!("the query worker ended abnormally ({status})")
    };
    bail!("{cause}")
}

#[cfg(unix)]
fn limit_child(cmd: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit) are made.
    unsafe {
        cmd.pre_exec(move || {
            let data = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            let core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            if libc::setrlimit(libc::RLIMIT_DATA, &data) != 0 || libc::setrlimit(libc::RLIMIT_CORE, &core) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_child(_cmd: &mut Command, _bytes: u64) {}
