//! A fresh test CA and a server certificate for 127.0.0.1 it signed, for the
//! tests' TLS servers (SMTP, Prometheus).

/// The server's certificate and key, and the CA's certificate in PEM.
pub struct LocalCert {
    /// The server certificate (for 127.0.0.1).
    pub cert: rcgen::Certificate,
    /// Its private key.
    pub key: rcgen::KeyPair,
    /// The signing CA's certificate, PEM: what a client must trust.
    pub ca_pem: String,
}

/// A new CA and a certificate for 127.0.0.1 signed by it.
pub fn localhost() -> LocalCert {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "kubeeye test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    let cert = params.signed_by(&key, &issuer).expect("server cert");
    LocalCert { cert, key, ca_pem: ca.pem() }
}
