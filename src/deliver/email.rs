//! The digest by email: one multipart/alternative message (plain text and
//! HTML from `templates/digest.{txt,html}.hbs`), optionally with the CSV
//! report attached, sent over SMTP with STARTTLS, implicit TLS, or plain
//! (an in-cluster relay).

use std::path::PathBuf;
use std::time::Duration;

use lettre::Message;
use lettre::address::AddressError;
use lettre::message::header::{ContentType, ContentTypeErr};
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};

use super::retry::{Backoff, Retryable, retry};
use super::templates::{self, DigestView, Escape};
use super::{Delivery, Digest};
use crate::config::{EmailSettings, EmailTls};
use crate::deliver::secret;

pub mod session;

use session::{Security, SessionError, Target};

/// Default for `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per digest; only connection-level and 4xx SMTP failures are retried.
pub const ATTEMPTS: u32 = 3;
/// Where the SMTP password is read from when neither `passwordEnv` nor `passwordFile` is set.
pub const DEFAULT_PASSWORD_ENV: &str = "KE_SMTP_PASSWORD";

/// Why the digest cannot be mailed with these settings; nothing was sent.
/// Each message names the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// A digest template failed (a bug in the template).
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    /// `from` is not an address.
    #[error("notify.email.from `{address}` is not an address: {source}")]
    From {
        /// The setting.
        address: String,
        /// Why.
        #[source]
        source: AddressError,
    },
    /// `to` is empty.
    #[error("notify.email.to names no recipient")]
    NoRecipient,
    /// One of `to` is not an address.
    #[error("notify.email.to `{address}` is not an address: {source}")]
    To {
        /// The recipient as written.
        address: String,
        /// Why.
        #[source]
        source: AddressError,
    },
    /// The attachment's content type (a bug).
    #[error(transparent)]
    AttachmentType(#[from] ContentTypeErr),
    /// lettre could not assemble the message.
    #[error("cannot build the message: {0}")]
    Message(#[source] lettre::error::Error),
    /// `caFile` cannot be read.
    #[error("notify.email.caFile: cannot read {}: {source}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `caFile` holds no PEM certificate.
    #[error("notify.email.caFile: {} is not a PEM certificate: {source}", path.display())]
    CaPem {
        /// The file.
        path: PathBuf,
        /// What lettre said.
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// The TLS parameters are unusable (the host is no valid server name …).
    #[error("notify.email TLS settings: {0}")]
    Tls(#[source] lettre::transport::smtp::Error),
    /// The password is named but cannot be read.
    #[error("SMTP password: {0}")]
    Password(#[source] secret::SecretError),
    /// A username with no password anywhere.
    #[error(
        "notify.email.username is set but no password: set passwordEnv or passwordFile, or the {DEFAULT_PASSWORD_ENV} variable"
    )]
    NoPassword,
}

/// Builds the message: headers, text and HTML parts, and the CSV when
/// `attachCsv` is on and `csv` is given.
pub fn message(settings: &EmailSettings, digest: &Digest, csv: Option<&[u8]>) -> Result<Message, EmailError> {
    let view = DigestView::of(digest);
    let text = templates::render("digest.txt", templates::DIGEST_TEXT, Escape::None, &view)?;
    let html = templates::render("digest.html", templates::DIGEST_HTML, Escape::Html, &view)?;
    let from: Mailbox =
        settings.from.parse().map_err(|source| EmailError::From { address: settings.from.clone(), source })?;
    let mut builder = Message::builder()
        .from(from)
        .subject(view.subject.clone())
        .date_now()
        .message_id(None)
        .user_agent("kubeeye".into());
    if settings.to.is_empty() {
        return Err(EmailError::NoRecipient);
    }
    for to in &settings.to {
        let mailbox: Mailbox = to.parse().map_err(|source| EmailError::To { address: to.clone(), source })?;
        builder = builder.to(mailbox);
    }
    let body = MultiPart::alternative_plain_html(text, html);
    let body = match csv.filter(|_| settings.attach_csv) {
        Some(csv) => {
            let stamp = crate::clock::parse(&digest.started_at)
                .map(super::store::layout::run_stamp)
                .unwrap_or_else(|| "report".into());
            let name = format!("kubeeye-{}-{stamp}.csv", super::store::layout::cluster_segment(&digest.cluster));
            let csv_type = ContentType::parse("text/csv; charset=utf-8")?;
            MultiPart::mixed().multipart(body).singlepart(Attachment::new(name).body(csv.to_vec(), csv_type))
        }
        None => body,
    };
    builder.multipart(body).map_err(EmailError::Message)
}

/// Where and how the settings say to send (nothing is sent yet).
pub fn target(settings: &EmailSettings) -> Result<Target, EmailError> {
    let port = settings.port.unwrap_or(settings.tls.default_port());
    let tls_parameters = || {
        let mut b = TlsParameters::builder(settings.host.clone());
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|source| EmailError::CaFile { path: path.clone(), source })?;
            let ca = Certificate::from_pem(&pem).map_err(|source| EmailError::CaPem { path: path.clone(), source })?;
            b = b.add_root_certificate(ca);
        }
        b.build().map_err(EmailError::Tls)
    };
    let security = match settings.tls {
        EmailTls::StartTls => Security::StartTls(tls_parameters()?),
        EmailTls::Tls => Security::Implicit(tls_parameters()?),
        EmailTls::None => Security::None,
    };
    let credentials = match &settings.username {
        Some(user) => {
            let password = secret::read(
                settings.password_env.as_deref(),
                settings.password_file.as_deref(),
                Some(DEFAULT_PASSWORD_ENV),
            )
            .map_err(EmailError::Password)?
            .ok_or(EmailError::NoPassword)?;
            Some(Credentials::new(user.clone(), password))
        }
        None => None,
    };
    Ok(Target {
        host: settings.host.clone(),
        port,
        security,
        credentials,
        connect_timeout: settings.timeout.unwrap_or(DEFAULT_TIMEOUT),
    })
}

/// One failed send.
#[derive(Debug)]
enum SendError {
    /// What the exchange reported.
    Session(SessionError),
    /// The whole exchange outlasted its bound.
    TooSlow(Duration),
}

impl Retryable for SendError {
    fn is_retryable(&self) -> bool {
        // A refused connection, a dropped one, a timeout or a 4xx reply may
        // pass next time; a 5xx (bad address, failed auth), a TLS failure or
        // a server that floods its replies will not.
        match self {
            SendError::Session(e) if e.is_reply_too_large() => false,
            SendError::Session(SessionError::Connect(_)) => true,
            SendError::Session(SessionError::Smtp(e)) => {
                !(e.is_permanent() || e.is_tls() || e.is_client() || is_tls_rejection(e))
            }
            SendError::TooSlow(_) => true,
        }
    }
}

/// Whether a handshake failed on the certificate or protocol (lettre reports
/// those as connection errors, but another attempt would fail the same way).
fn is_tls_rejection(e: &lettre::transport::smtp::Error) -> bool {
    crate::error::find_cause::<rustls::Error>(e).is_some()
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Session(e) => write!(f, "{e}"),
            SendError::TooSlow(d) => {
                write!(f, "the SMTP exchange took longer than {}", crate::config::format_duration(*d))
            }
        }
    }
}

/// Sends the digest with the default backoff.
pub async fn send(settings: &EmailSettings, digest: &Digest, csv: Option<&[u8]>) -> Delivery {
    send_with(settings, digest, csv, Backoff::default()).await
}

/// Sends the digest, waiting `backoff` between attempts.
pub async fn send_with(settings: &EmailSettings, digest: &Digest, csv: Option<&[u8]>, backoff: Backoff) -> Delivery {
    let port = settings.port.unwrap_or(settings.tls.default_port());
    let target = format!("{} via {}:{port}", settings.to.join(", "), settings.host);
    let failed =
        |detail: String| Delivery { channel: "email".into(), target: target.clone(), ok: false, attempts: 0, detail };
    let message = match message(settings, digest, csv) {
        Ok(m) => m,
        Err(e) => return failed(e.to_string()),
    };
    let server = match self::target(settings) {
        Ok(t) => t,
        Err(e) => return failed(e.to_string()),
    };
    let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let outcome = retry(ATTEMPTS, backoff, |_| {
        let (message, server) = (&message, &server);
        async move {
            // Connecting has its own timeout; this bounds the whole exchange.
            let bound = timeout.saturating_mul(3);
            match tokio::time::timeout(bound, session::send(server, message)).await {
                Ok(result) => result.map_err(SendError::Session),
                Err(_) => Err(SendError::TooSlow(bound)),
            }
        }
    })
    .await;
    match outcome.result {
        Ok(response) => Delivery {
            channel: "email".into(),
            target,
            ok: true,
            attempts: outcome.attempts,
            detail: format!("accepted: {} {}", response.code(), response.message().collect::<Vec<_>>().join(" ")),
        },
        Err(e) => {
            tracing::warn!("sending the email digest to {target} failed after {} attempt(s): {e}", outcome.attempts);
            Delivery { channel: "email".into(), target, ok: false, attempts: outcome.attempts, detail: e.to_string() }
        }
    }
}
