//! `ke run --check-config`: trying each delivery channel without delivering
//! anything. The store's prefix is listed with the configured credentials,
//! the SMTP server is connected to and authenticated with (no message), and
//! each webhook host is resolved and, for `https`, shaken hands with (no
//! request). Each channel ends in a [`Delivery`] saying ok or why not.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::store::ReportStore;
use super::{Delivery, email, secret, webhook};
use crate::config::{EmailSettings, PushgatewaySettings, WebhookSettings};

/// Probes every channel at once; the store first in the list, then email, then the webhooks.
pub async fn all(
    store: &ReportStore,
    email: Option<&EmailSettings>,
    webhooks: &[WebhookSettings],
    pushgateway: Option<&PushgatewaySettings>,
) -> Vec<Delivery> {
    let mail = async {
        match email {
            Some(settings) => Some(self::email(settings).await),
            None => None,
        }
    };
    let hooks = futures::future::join_all(webhooks.iter().map(webhook));
    let push = async {
        match pushgateway {
            Some(settings) => Some(self::pushgateway(settings).await),
            None => None,
        }
    };
    let (stored, mail, hooks, push) = tokio::join!(store.probe(), mail, hooks, push);
    let mut probes = vec![stored];
    probes.extend(mail);
    probes.extend(hooks);
    probes.extend(push);
    probes
}

/// Resolves and connects to the Pushgateway (TLS included for `https`); pushes nothing.
pub async fn pushgateway(settings: &PushgatewaySettings) -> Delivery {
    let url = match url::Url::parse(&settings.url) {
        Ok(u) if u.host_str().is_some() => u,
        _ => return outcome("pushgateway", settings.url.clone(), Err("not an http(s) URL".into())),
    };
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let target = format!("{host}:{port}");
    let timeout = settings.timeout.unwrap_or(super::pushgateway::DEFAULT_TIMEOUT);
    let result = tokio::time::timeout(timeout, reach(&host, port, url.scheme() == "https"))
        .await
        .unwrap_or_else(|_| Err(format!("no answer from {target} within {}", crate::config::format_duration(timeout))));
    outcome("pushgateway", target, result.map(|d| d.replace("nothing posted", "nothing pushed")))
}

/// Connects to the SMTP server, upgrades to TLS as configured and
/// authenticates when a username is set; sends no message.
pub async fn email(settings: &EmailSettings) -> Delivery {
    let port = settings.port.unwrap_or(settings.tls.default_port());
    let target = format!("{}:{port}", settings.host);
    let result = async {
        let server = email::target(settings).map_err(|e| e.to_string())?;
        let bound = settings.timeout.unwrap_or(email::DEFAULT_TIMEOUT).saturating_mul(3);
        match tokio::time::timeout(bound, email::session::probe(&server)).await {
            Ok(Ok(true)) => Ok(if settings.username.is_some() {
                "connected and authenticated; nothing sent".to_string()
            } else {
                "connected; nothing sent".to_string()
            }),
            Ok(Ok(false)) => Err("connected, but the server does not answer NOOP".to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {}", crate::config::format_duration(bound))),
        }
    }
    .await;
    outcome("email", target, result)
}

/// Resolves the webhook's host and opens a connection to it, with a TLS
/// handshake (certificate verified as the post would) for `https`; posts nothing.
pub async fn webhook(settings: &WebhookSettings) -> Delivery {
    let channel = format!("webhook:{}", settings.name);
    let source = webhook::target_of(settings);
    let url = match secret::read(settings.url_env.as_deref(), settings.url_file.as_deref(), None) {
        Ok(Some(url)) => url,
        Ok(None) => return outcome(&channel, source, Err("no URL: set urlEnv or urlFile".into())),
        Err(e) => return outcome(&channel, source, Err(format!("no URL: {e}"))),
    };
    let url = match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        // Never echo the value: it is the secret.
        _ => return outcome(&channel, source.clone(), Err(format!("the URL in {source} is not an http(s) URL"))),
    };
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let target = format!("{host}:{port}");
    let timeout = settings.timeout.unwrap_or(webhook::DEFAULT_TIMEOUT);
    let result = tokio::time::timeout(timeout, reach(&host, port, url.scheme() == "https"))
        .await
        .unwrap_or_else(|_| Err(format!("no answer from {target} within {}", crate::config::format_duration(timeout))));
    outcome(&channel, target, result)
}

/// Resolves, connects, and (for TLS) completes a verified handshake.
async fn reach(host: &str, port: u16, tls: bool) -> Result<String, String> {
    let addrs: Vec<_> =
        tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
    let first = addrs.first().ok_or_else(|| format!("{host} resolves to no address"))?;
    let tcp = TcpStream::connect(&addrs[..]).await.map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    if !tls {
        return Ok(format!("connected to {first} (plain http); nothing posted"));
    }
    let config = tls_config()?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host} is no server name: {e}"))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
    Ok(format!("connected to {first}, TLS certificate verified; nothing posted"))
}

/// A client configuration verifying certificates as the webhook client does
/// (the platform's trust store).
fn tls_config() -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_platform_verifier()
        .map_err(|e| format!("no trust store: {e}"))?
        .with_no_client_auth())
}

/// The probe's [`Delivery`].
fn outcome(channel: &str, target: String, result: Result<String, String>) -> Delivery {
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    Delivery { channel: channel.into(), target, ok, attempts: 1, detail }
}
