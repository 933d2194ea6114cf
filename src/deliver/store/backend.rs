//! Turning `storage:` settings into an `object_store` client: the URL says
//! which service, bucket and prefix; the settings add endpoint, region,
//! addressing style and where credentials come from.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::signer::Signer;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use super::error::{StoreError, StoreErrorKind};
use crate::config::StorageSettings;
use crate::deliver::secret;

/// A connected store and what is needed to describe and link into it.
pub(super) struct Backend {
    /// The objects.
    pub store: Arc<dyn ObjectStore>,
    /// Presigns links, for the cloud services.
    pub signer: Option<Arc<dyn Signer>>,
    /// `s3://bucket`, `gs://bucket`, `az://container`, `file:///dir`: the start of every location in messages.
    pub root: String,
    /// The bucket or container (the directory for `file://`), as errors name it.
    pub bucket: String,
    /// Key prefix inside the bucket, without slashes at either end (may be empty).
    pub prefix: String,
    /// For `file://`: the directory keys are relative to.
    pub local_root: Option<PathBuf>,
}

/// Default for `storage.timeout`: one request, connecting included.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Per-request limits. Retries are ours (see `retry`), so object_store's own
/// are off: attempts are counted once and reported honestly.
fn client_options(settings: &StorageSettings) -> ClientOptions {
    let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
    ClientOptions::new()
        .with_allow_http(settings.allow_http)
        .with_timeout(timeout)
        .with_connect_timeout(timeout.min(Duration::from_secs(10)))
        .with_content_type_for_suffix("html", "text/html; charset=utf-8")
        .with_content_type_for_suffix("csv", "text/csv; charset=utf-8")
        .with_content_type_for_suffix("json", "application/json")
        .with_content_type_for_suffix("prom", "application/openmetrics-text; version=1.0.0; charset=utf-8")
}

fn no_retries() -> RetryConfig {
    RetryConfig { max_retries: 0, retry_timeout: Duration::from_secs(120), ..RetryConfig::default() }
}

fn settings_error(message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Settings, message)
}

/// Builds the backend for `settings`; without a URL, `file://` + `default_dir`.
pub(super) fn open(settings: &StorageSettings, default_dir: &Path) -> Result<Backend, StoreError> {
    let Some(text) = settings.url.as_deref() else { return local(default_dir, "outputs.directory") };
    let url = url::Url::parse(text).map_err(|e| settings_error(format!("storage.url `{text}` is not a URL: {e}")))?;
    if url.scheme() == "file" {
        let dir = url
            .to_file_path()
            .map_err(|()| settings_error(format!("storage.url `{text}` is not an absolute file:// path")))?;
        return local(&dir, "storage.url");
    }
    let bucket = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| {
        settings_error(format!("storage.url `{text}` names no bucket (use {}://bucket/prefix)", url.scheme()))
    })?;
    let prefix = url.path().trim_matches('/').to_string();
    let root = format!("{}://{bucket}", url.scheme());
    let (store, signer): (Arc<dyn ObjectStore>, Arc<dyn Signer>) = match url.scheme() {
        "s3" | "s3a" => {
            let s3 = Arc::new(
                s3(settings, bucket)?.build().map_err(|e| settings_error(format!("storage.url `{text}`: {e}")))?,
            );
            (s3.clone(), s3)
        }
        "gs" => {
            let gcs = GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .with_retry(no_retries())
                .with_client_options(client_options(settings))
                .build()
                .map_err(|e| settings_error(format!("storage.url `{text}`: {e}")))?;
            let gcs = Arc::new(gcs);
            (gcs.clone(), gcs)
        }
        "az" | "azure" | "abfs" => {
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .with_retry(no_retries())
                .with_client_options(client_options(settings));
            if let Some(endpoint) = &settings.endpoint {
                // Azurite or a sovereign cloud.
                b = b.with_endpoint(endpoint.clone()).with_allow_http(settings.allow_http);
            }
            let az = Arc::new(b.build().map_err(|e| settings_error(format!("storage.url `{text}`: {e}")))?);
            (az.clone(), az)
        }
        other => {
            return Err(settings_error(format!(
                "storage.url `{text}`: unsupported scheme {other}:// (use s3://, gs://, az:// or file://)"
            )));
        }
    };
    Ok(Backend { store, signer: Some(signer), root, bucket: bucket.to_string(), prefix, local_root: None })
}

/// The S3 builder: object_store's own environment handling first (static
/// keys, web identity / IRSA, ECS and EKS Pod Identity, instance metadata),
/// then what the settings say on top.
fn s3(settings: &StorageSettings, bucket: &str) -> Result<AmazonS3Builder, StoreError> {
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(no_retries())
        .with_client_options(client_options(settings));
    if let Some(region) = &settings.region {
        b = b.with_region(region);
    }
    if settings.allow_http {
        b = b.with_allow_http(true);
    }
    let endpoint = match &settings.endpoint {
        Some(endpoint) => Some(
            url::Url::parse(endpoint)
                .map_err(|e| settings_error(format!("storage.endpoint `{endpoint}` is not a URL: {e}")))?,
        ),
        None => None,
    };
    let path_style = settings.path_style.unwrap_or_else(|| endpoint.as_ref().is_some_and(needs_path_style));
    match (&settings.endpoint, endpoint) {
        (Some(endpoint), Some(_)) if path_style => {
            b = b.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        }
        (Some(endpoint), Some(mut url)) => {
            // object_store expects a virtual-hosted endpoint to name the bucket already.
            let host = url.host_str().unwrap_or_default().to_string();
            url.set_host(Some(&format!("{bucket}.{host}")))
                .map_err(|e| settings_error(format!("storage.endpoint `{endpoint}`: {e}")))?;
            b = b.with_endpoint(url.as_str().trim_end_matches('/')).with_virtual_hosted_style_request(true);
        }
        _ => b = b.with_virtual_hosted_style_request(!path_style),
    }
    let named = |env: &Option<String>, file: &Option<PathBuf>| env.is_some() || file.is_some();
    let key_named = named(&settings.access_key_id_env, &settings.access_key_id_file);
    let secret_named = named(&settings.secret_access_key_env, &settings.secret_access_key_file);
    if key_named != secret_named {
        return Err(settings_error(
            "storage: name both the access key id and the secret access key (accessKeyIdEnv or accessKeyIdFile, \
             and secretAccessKeyEnv or secretAccessKeyFile), or neither",
        ));
    }
    if key_named {
        let read = |name: &str, env: &Option<String>, file: &Option<PathBuf>| {
            let key = if file.is_some() { format!("storage.{name}File") } else { format!("storage.{name}Env") };
            secret::read(env.as_deref(), file.as_deref(), None)
                .map_err(|e| settings_error(format!("{key}: {e}")))?
                .ok_or_else(|| settings_error(format!("{key}: nothing to read")))
        };
        let key = read("accessKeyId", &settings.access_key_id_env, &settings.access_key_id_file)?;
        let secret = read("secretAccessKey", &settings.secret_access_key_env, &settings.secret_access_key_file)?;
        b = b.with_access_key_id(key).with_secret_access_key(secret);
    }
    Ok(b)
}

/// Whether an endpoint can only be addressed path-style: an IP address or
/// `localhost` has no `bucket.` sub-domain (the AWS SDKs decide the same way).
fn needs_path_style(endpoint: &url::Url) -> bool {
    match endpoint.host() {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// A directory as the store; created when missing (the local default must just work).
/// `key` names the setting the directory came from, for messages.
fn local(dir: &Path, key: &str) -> Result<Backend, StoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| settings_error(format!("{key}: cannot create report directory {}: {e}", dir.display())))?;
    let dir = std::fs::canonicalize(dir)
        .map_err(|e| settings_error(format!("{key}: cannot resolve report directory {}: {e}", dir.display())))?;
    let fs = LocalFileSystem::new_with_prefix(&dir)
        .map_err(|e| settings_error(format!("{key}: report directory {}: {e}", dir.display())))?
        .with_automatic_cleanup(true);
    let root = url::Url::from_directory_path(&dir)
        .map(|u| u.as_str().trim_end_matches('/').to_string())
        .unwrap_or_else(|()| format!("file://{}", dir.display()));
    Ok(Backend {
        store: Arc::new(fs),
        signer: None,
        root,
        bucket: dir.display().to_string(),
        prefix: String::new(),
        local_root: Some(dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_service_bucket_and_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let settings = |url: &str| StorageSettings {
            url: Some(url.into()),
            endpoint: Some("http://127.0.0.1:9000".into()),
            path_style: Some(true),
            allow_http: true,
            region: Some("eu-west-1".into()),
            ..StorageSettings::default()
        };
        let s3 = open(&settings("s3://kubeeye-reports/nightly/"), dir.path()).unwrap();
        assert_eq!(
            (s3.root.as_str(), s3.bucket.as_str(), s3.prefix.as_str()),
            ("s3://kubeeye-reports", "kubeeye-reports", "nightly")
        );
        assert!(s3.signer.is_some());

        let local = open(&StorageSettings::default(), &dir.path().join("reports")).unwrap();
        assert!(local.root.starts_with("file:///") && local.root.ends_with("/reports"), "{}", local.root);
        assert!(local.signer.is_none());

        for (url, complaint) in
            [("ftp://x/y", "unsupported scheme"), ("s3:///prefix", "names no bucket"), ("not a url", "is not a URL")]
        {
            let e = open(&settings(url), dir.path()).err().unwrap();
            assert!(e.message.contains(complaint), "{url}: {e}");
        }
        let half = StorageSettings { access_key_id_env: Some("X".into()), ..settings("s3://b") };
        assert!(open(&half, dir.path()).err().unwrap().message.contains("both"));
    }
}
