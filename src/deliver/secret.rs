//! Reading a credential (SMTP password, webhook URL, access key) from the
//! environment variable or the file the config names. The config only ever
//! holds the *name*; values never reach logs, errors or reports.

use std::path::Path;

/// Where a secret was supposed to come from and why it could not be read.
/// The message names the variable or file, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The named environment variable is unset or empty.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The named file could not be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The named file is empty.
    #[error("{0} is empty")]
    EmptyFile(String),
}

/// Reads a secret: from `file` when named, else from the variable `env` when
/// named (it must then be set), else from `default_env` if that happens to be
/// set. `Ok(None)` means nothing was named and the default is unset.
///
/// Files mounted from a Kubernetes Secret often end in a newline; surrounding
/// whitespace is dropped.
pub fn read(env: Option<&str>, file: Option<&Path>, default_env: Option<&str>) -> Result<Option<String>, SecretError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SecretError::Unreadable { path: path.display().to_string(), source })?;
        let value = text.trim();
        if value.is_empty() {
            return Err(SecretError::EmptyFile(path.display().to_string()));
        }
        return Ok(Some(value.to_string()));
    }
    if let Some(name) = env {
        return match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(SecretError::MissingEnv(name.to_string())),
        };
    }
    Ok(default_env.and_then(|name| std::env::var(name).ok()).filter(|v| !v.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_wins_and_is_trimmed_missing_sources_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(read(Some("KE_TEST_SURELY_UNSET_1"), Some(&path), None).unwrap(), Some("s3cret".into()));

        let missing = read(Some("KE_TEST_SURELY_UNSET_1"), None, None).unwrap_err();
        assert_eq!(missing.to_string(), "environment variable KE_TEST_SURELY_UNSET_1 is not set");
        assert_eq!(read(None, None, Some("KE_TEST_SURELY_UNSET_2")).unwrap(), None);

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(matches!(read(None, Some(&empty), None), Err(SecretError::EmptyFile(_))));
        assert!(matches!(read(None, Some(&dir.path().join("nope")), None), Err(SecretError::Unreadable { .. })));
    }
}
