//! Running the real `ke` binary, and serving fixtures as if collected now.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What a `ke` run printed and returned.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `ke` from the crate root with `env` set, no colour, and no ambient
/// kubeconfig or AWS credentials to leak in from the machine.
pub fn ke_with(args: &[&str], env: &[(String, String)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ke"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("ke runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `ke` with no extra environment.
pub fn ke(args: &[&str]) -> Run {
    ke_with(args, &[])
}

/// The objects of a snapshot path (relative to the crate root) of the given
/// kinds (all when empty), every timestamp moved so that the snapshot's
/// `collectedAt` is now; the Inspection record itself is left out. This is
/// how fixtures written for offline checks are served live.
pub fn shifted(path: &str, kinds: &[&str]) -> Vec<Value> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let inventory = kubeeye::collect::offline::load(&[full]).expect("fixture loads");
    assert!(inventory.gaps.is_empty(), "{path}: {:?}", inventory.gaps);
    let delta = inventory
        .collected_at
        .as_deref()
        .and_then(kubeeye::clock::parse)
        .map_or(0, |t| kubeeye::clock::seconds_between(t, kubeeye::clock::now()));
    inventory
        .objects
        .into_iter()
        .filter(|o| o.id.kind != "Inspection" && (kinds.is_empty() || kinds.contains(&o.id.kind.as_str())))
        .map(|o| {
            let mut v = o.raw;
            shift(&mut v, delta);
            v
        })
        .collect()
}

/// Moves every RFC 3339 timestamp string in `v` by `delta` seconds.
fn shift(v: &mut Value, delta: i64) {
    match v {
        Value::String(s) if s.len() >= 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z') => {
            if let Some(t) = kubeeye::clock::parse(s) {
                let moved = jiff::Timestamp::from_second(t.as_second() + delta).expect("in range");
                *s = kubeeye::clock::format(moved);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| shift(i, delta)),
        Value::Object(map) => map.values_mut().for_each(|i| shift(i, delta)),
        _ => {}
    }
}
