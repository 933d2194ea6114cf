//! One SMTP exchange on a connection whose replies are bounded.
//!
//! lettre reads a reply line by line and checks each line's length only once
//! the line has ended, so a server that streams one endless line (or any
//! endless answer) would be read into memory until the exchange times out.
//! Here lettre runs on a TCP stream that refuses to read more than
//! [`MAX_REPLY_BYTES`] since ke last wrote: every reply answers a command, and
//! a real one is a few lines (TLS handshakes included).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most bytes read from the server between two writes of ke's.
pub const MAX_REPLY_BYTES: usize = 1 << 20;

/// The server sent more than a reply can hold without waiting for ke.
#[derive(Debug, thiserror::Error)]
#[error(
    "the SMTP server sent over {} KiB without waiting for a command (a reply is a few lines); not reading more",
    MAX_REPLY_BYTES >> 10
)]
pub struct ReplyTooLarge;

/// How the connection is secured.
#[derive(Clone)]
pub enum Security {
    /// Plain (an in-cluster relay).
    None,
    /// STARTTLS, required.
    StartTls(TlsParameters),
    /// Implicit TLS from the first byte (SMTPS).
    Implicit(TlsParameters),
}

/// Where and how to send.
#[derive(Clone)]
pub struct Target {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// AUTH credentials.
    pub credentials: Option<Credentials>,
    /// Bound on connecting.
    pub connect_timeout: Duration,
}

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The TCP connection failed or timed out.
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    /// lettre reported an SMTP, TLS or network failure (a reply too large among them).
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl SessionError {
    /// Whether the server answered more than a reply can hold.
    pub fn is_reply_too_large(&self) -> bool {
        crate::error::find_cause::<ReplyTooLarge>(self).is_some()
    }
}

/// Connects, secures, authenticates, sends `message` and quits.
pub async fn send(target: &Target, message: &Message) -> Result<Response, SessionError> {
    let mut connection = open(target).await?;
    let response = connection.send(message.envelope(), &message.formatted()).await?;
    // The message is accepted; a failing QUIT changes nothing.
    let _ = connection.quit().await;
    Ok(response)
}

/// Connects, secures and authenticates as [`send`] would, asks the server for
/// a NOOP and quits: whether a digest could be sent, with nothing sent.
/// `Ok(false)` when the server does not answer the NOOP.
pub async fn probe(target: &Target) -> Result<bool, SessionError> {
    let mut connection = open(target).await?;
    let alive = connection.test_connected().await;
    let _ = connection.quit().await;
    Ok(alive)
}

/// A connection to the server, secured and authenticated as `target` says.
async fn open(target: &Target) -> Result<AsyncSmtpConnection, SessionError> {
    let tcp = tokio::time::timeout(target.connect_timeout, TcpStream::connect((target.host.as_str(), target.port)))
        .await
        .map_err(|_| SessionError::Connect(io::Error::new(io::ErrorKind::TimedOut, "connection timed out")))?
        .map_err(SessionError::Connect)?;
    let peer = tcp.peer_addr().map_err(SessionError::Connect)?;
    let bounded = Bounded { inner: tcp, unanswered: 0, peer };
    let hello = ClientId::default();
    let mut connection = match &target.security {
        Security::Implicit(tls) => {
            #[allow(deprecated)] // lettre's own TLS on a stream it did not open: the one public way
            let mut stream =
                lettre::transport::smtp::client::AsyncNetworkStream::use_existing_tokio1(Box::new(bounded));
            stream.upgrade_tls(tls.clone()).await?;
            AsyncSmtpConnection::connect_with_transport(Box::new(Tokio(stream, peer)), &hello).await?
        }
        Security::None | Security::StartTls(_) => {
            AsyncSmtpConnection::connect_with_transport(Box::new(bounded), &hello).await?
        }
    };
    if let Security::StartTls(tls) = &target.security {
        connection.starttls(tls.clone(), &hello).await?;
    }
    if let Some(credentials) = &target.credentials {
        connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await?;
    }
    Ok(connection)
}

/// A stream that stops reading after [`MAX_REPLY_BYTES`] without a write.
#[derive(Debug)]
struct Bounded<S> {
    inner: S,
    unanswered: usize,
    peer: SocketAddr,
}

impl<S: AsyncRead + Unpin> AsyncRead for Bounded<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.unanswered > MAX_REPLY_BYTES {
            return Poll::Ready(Err(io::Error::other(ReplyTooLarge)));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.unanswered += buf.filled().len() - before;
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bounded<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
        {
            this.unanswered = 0;
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Send + Sync + Unpin + std::fmt::Debug> AsyncTokioStream for Bounded<S> {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

/// lettre's TLS stream (futures-io traits) as a tokio stream, for implicit TLS.
#[allow(deprecated)]
#[derive(Debug)]
struct Tokio(lettre::transport::smtp::client::AsyncNetworkStream, SocketAddr);

impl AsyncRead for Tokio {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match futures::io::AsyncRead::poll_read(Pin::new(&mut self.get_mut().0), cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Tokio {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        futures::io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().0), cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures::io::AsyncWrite::poll_close(Pin::new(&mut self.get_mut().0), cx)
    }
}

impl AsyncTokioStream for Tokio {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.1)
    }
}
