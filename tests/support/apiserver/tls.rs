//! The fake's PKI: a cluster CA, and a serving certificate signed by it whose notAfter
//! a snapshot can plant.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use super::cluster::Health;

/// What a server needs to speak TLS, and what a client needs to trust it.
pub struct Pki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// rustls configuration with the serving certificate, ALPN h2 and http/1.1.
    pub server_config: Arc<rustls::ServerConfig>,
}

fn new_ca(common_name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    let key = KeyPair::generate().expect("generate CA key");
    CertifiedIssuer::self_signed(params, key).expect("self-sign CA")
}

/// A CA unrelated to any server, for tests that expect the handshake to fail.
pub fn unrelated_ca_pem() -> String {
    new_ca("unrelated-ca").pem()
}

/// A fresh CA (CN=kubernetes, as kubeadm names it) and a serving certificate
/// (CN=kube-apiserver) for `localhost` and `127.0.0.1`, valid until the planted notAfter
/// or for a year.
pub fn issue(health: &Health) -> Pki {
    let ca = new_ca("kubernetes");
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    for name in &health.dns_names {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let mut params = CertificateParams::new(names).expect("valid subject alternative names");
    params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("zero nanoseconds is valid");
    params.not_after = health.not_after.unwrap_or(now + Duration::days(365));
    // An already-expired planted certificate still needs notBefore < notAfter.
    params.not_before = (now - Duration::days(1)).min(params.not_after - Duration::days(1));
    let key = KeyPair::generate().expect("generate serving key");
    let leaf = params.signed_by(&key, &ca).expect("sign serving certificate");

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
        .expect("serving certificate and key match");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Pki { ca_pem: ca.pem(), server_config: Arc::new(config) }
}
