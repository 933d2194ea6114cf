//! Looking into an error's causes by type rather than by message text: a TLS
//! failure is a `rustls::Error` somewhere in the chain, whatever the layers
//! above it (kube, hyper, lettre) call it.

use std::error::Error;

/// The first error of type `T` among `e` and its causes.
///
/// An `std::io::Error` wrapping another error does not return it from
/// `source()` (it returns that error's own source), yet TLS stacks report
/// handshake failures exactly so; wrapped errors are therefore looked into too.
pub fn find_cause<'a, T: Error + 'static>(e: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(wrapped) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            let wrapped: &(dyn Error + 'static) = wrapped;
            if let Some(found) = find_cause::<T>(wrapped) {
                return Some(found);
            }
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find_cause;

    #[derive(Debug, thiserror::Error)]
    #[error("sending: {0}")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_cause_is_found_inside_an_io_error() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let e = Outer(std::io::Error::new(std::io::ErrorKind::InvalidData, tls));
        let found = find_cause::<rustls::Error>(&e);
        assert!(matches!(found, Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))));
        let plain = Outer(std::io::Error::other("certificate, but only in words"));
        assert!(find_cause::<rustls::Error>(&plain).is_none());
    }
}
