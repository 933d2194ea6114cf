//! Reading the host: every function here takes the host root (`/host` in
//! the Job, `/` on the machine itself) and reads one thing under it. No
//! judging happens here.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::protocol::{FileState, Filesystem};

/// `<root><path>` for an absolute host path.
pub fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// A kernel parameter: `net.ipv4.ip_forward` is `<root>/proc/sys/net/ipv4/ip_forward`
/// (as sysctl(8) reads it: dots separate, a slash in a key stands for a dot).
pub fn sysctl(root: &Path, key: &str) -> Result<String, String> {
    let relative: String = key
        .chars()
        .map(|c| {
            if c == '.' {
                '/'
            } else if c == '/' {
                '.'
            } else {
                c
            }
        })
        .collect();
    if relative.split('/').any(|c| c.is_empty() || c == "..") {
        return Err(format!("`{key}` is not a sysctl key"));
    }
    let path = root.join("proc/sys").join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim_end().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!("no kernel parameter `{key}` on this node")),
        Err(e) => Err(format!("cannot read kernel parameter `{key}`: {e}")),
    }
}

/// A file's SHA-256, size and modification time.
pub fn file_state(root: &Path, path: &str) -> Result<FileState, std::io::Error> {
    let mut file = std::fs::File::open(under(root, path))?;
    let meta = file.metadata()?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map_or_else(String::new, |t| t.to_string());
    Ok(FileState { path: path.to_string(), sha256: hex::encode(hash.finalize()), size: meta.len(), modified })
}

/// The last `max_bytes` of a file as text; a line cut by the bound is dropped.
pub fn tail(root: &Path, path: &str, max_bytes: u64) -> Result<String, std::io::Error> {
    let mut file = std::fs::File::open(under(root, path))?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(max_bytes);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(max_bytes).read_to_end(&mut bytes)?;
    // A tail that starts mid-line drops that partial line. One buffer throughout:
    // the tail is the node pod's largest allocation.
    if start > 0 {
        let first_line = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
        bytes.drain(..first_line);
    }
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// A fileFilter pattern, compiled to scan many lines at once as if line by
/// line: `^` and `$` match at each line's start and end.
pub fn line_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .multi_line(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid regex: {e}"))
}

/// The lines of `text` a regex (from [`line_regex`]) matches: how many, and the last one.
/// One scan of the text (the regex's literal prefilters apply), not a match per line.
pub fn matching_lines<'t>(regex: &regex::Regex, text: &'t str) -> (usize, Option<&'t str>) {
    let (mut count, mut last, mut at) = (0, None, 0);
    while at <= text.len() {
        let Some(m) = regex.find_at(text, at) else { break };
        let start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[m.start()..].find('\n').map_or(text.len(), |i| m.start() + i);
        if !(start == end && end == text.len() && count > 0 && text.ends_with('\n')) {
            count += 1;
            last = Some(&text[start..end]);
        }
        at = end + 1;
    }
    (count, last)
}

/// Usage of the filesystem holding `<root><mount>`.
pub fn filesystem(root: &Path, mount: &str) -> Result<Filesystem, String> {
    let stat = nix::sys::statvfs::statvfs(&under(root, mount)).map_err(|e| format!("statvfs {mount}: {e}"))?;
    let fragment = stat.fragment_size() as u64;
    let total = stat.blocks() as u64 * fragment;
    let free = stat.blocks_free() as u64 * fragment;
    let available = stat.blocks_available() as u64 * fragment;
    let (files, files_free) = (stat.files() as u64, stat.files_free() as u64);
    Ok(Filesystem {
        mount: mount.to_string(),
        used_bytes: total.saturating_sub(free),
        total_bytes: total,
        available_bytes: Some(available),
        inodes_used: files.saturating_sub(files_free),
        inodes_total: files,
    })
}

/// The load averages from `/proc/loadavg`.
pub fn load(root: &Path) -> Option<[f64; 3]> {
    let text = std::fs::read_to_string(root.join("proc/loadavg")).ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([fields.next()?.ok()?, fields.next()?.ok()?, fields.next()?.ok()?])
}

/// Memory used (MemTotal less MemAvailable) in percent, from `/proc/meminfo`.
pub fn memory_percent(root: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(root.join("proc/meminfo")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.split_whitespace().next()?.parse::<f64>().ok())
    };
    let (total, available) = (field("MemTotal")?, field("MemAvailable")?);
    (total > 0.0).then(|| (total - available) / total * 100.0)
}

/// The aggregate `cpu` line of `/proc/stat`: (busy, total) jiffies.
fn cpu_times(root: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(root.join("proc/stat")).ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// CPU busy in percent between two reads of `/proc/stat` `interval` apart;
/// `None` when nothing ticked (a static fixture) or it cannot be read.
pub fn cpu_percent(root: &Path, interval: Duration) -> Option<f64> {
    let (busy1, total1) = cpu_times(root)?;
    std::thread::sleep(interval);
    let (busy2, total2) = cpu_times(root)?;
    let total = total2.checked_sub(total1).filter(|t| *t > 0)?;
    Some(busy2.saturating_sub(busy1) as f64 / total as f64 * 100.0)
}

/// What a command did.
#[derive(Debug)]
pub struct CommandRun {
    /// Standard output, at most the cap, lossily decoded.
    pub output: String,
    /// Whether output was cut at the cap.
    pub truncated: bool,
    /// The exit code; `None` when killed by a signal.
    pub exit_code: Option<i32>,
}

/// Runs `sh -c command` on the host: directly when the host root is `/`,
/// else in the host's namespaces with `nsenter -t 1` (the Job runs it
/// privileged with hostPID). Killed after `timeout`; output kept up to `cap` bytes.
pub fn run_command(root: &Path, command: &str, timeout: Duration, cap: u64) -> Result<CommandRun, String> {
    let mut cmd = if root == Path::new("/") {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(command);
        c
    } else {
        let mut c = Command::new("nsenter");
        c.args(["-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "/bin/sh", "-c", command]);
        c
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `{command}`: {e}"))?;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut truncated = false;
        if let Some(mut out) = stdout {
            let _ = (&mut out).take(cap).read_to_end(&mut kept);
            // Drain the rest so the command never blocks on a full pipe.
            let mut sink = [0u8; 8192];
            while let Ok(n) = out.read(&mut sink) {
                if n == 0 {
                    break;
                }
                truncated = true;
            }
        }
        (kept, truncated)
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{command}` did not finish within {:.0?}; it was killed", timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for `{command}`: {e}")),
        }
    };
    let (kept, truncated) = reader.join().map_err(|_| "the output reader failed".to_string())?;
    Ok(CommandRun { output: String::from_utf8_lossy(&kept).into_owned(), truncated, exit_code: status.code() })
}

/// The `ActiveState` of systemd units, asked over D-Bus as `systemctl is-active`
/// does (Manager.GetUnit, then the unit's property); a unit systemd does not
/// know is `inactive`, as systemctl says. A name without a type is a `.service`.
pub fn unit_states(address: &str, units: &[String], timeout: Duration) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the D-Bus client: {e}"))?;
    runtime.block_on(async {
        tokio::time::timeout(timeout, ask_systemd(address, units))
            .await
            .map_err(|_| format!("systemd did not answer over D-Bus ({address}) within {timeout:?}"))?
    })
}

async fn ask_systemd(address: &str, units: &[String]) -> Result<Vec<String>, String> {
    let fail = |e: zbus::Error| format!("D-Bus ({address}): {e}");
    let connection = zbus::connection::Builder::address(address).map_err(fail)?.build().await.map_err(fail)?;
    let manager = zbus::Proxy::new(
        &connection,
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
    )
    .await
    .map_err(fail)?;
    let mut states = Vec::new();
    for unit in units {
        let name = if unit.contains('.') { unit.clone() } else { format!("{unit}.service") };
        let reply: Result<zbus::zvariant::OwnedObjectPath, zbus::Error> =
            manager.call("GetUnit", &(name.as_str(),)).await;
        let path = match reply {
            Ok(path) => path,
            Err(zbus::Error::MethodError(error, _, _)) if error.as_str() == "org.freedesktop.systemd1.NoSuchUnit" => {
                states.push("inactive".to_string());
                continue;
            }
            Err(e) => return Err(fail(e)),
        };
        let unit_proxy =
            zbus::Proxy::new(&connection, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit")
                .await
                .map_err(fail)?;
        let state: String = unit_proxy.get_property("ActiveState").await.map_err(fail)?;
        states.push(state);
    }
    Ok(states)
}
