//! `ca_file`: extra CA certificates (PEM) to trust for one site. Read when
//! the config is loaded, so `check --offline` already refuses a file that
//! the HTTPS client would refuse at start.

use std::path::Path;

use reqwest::Certificate;

/// Reads the certificates of a CA file: readable, PEM, at least one
/// certificate, each one usable as a trust anchor.
pub fn read_ca_file(path: &Path) -> Result<Vec<Certificate>, String> {
    let shown = path.display();
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}; expected a file of PEM CA certificates"))?;
    let certs = Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{shown} is not PEM ({e}); expected -----BEGIN CERTIFICATE----- blocks"))?;
    if certs.is_empty() {
        return Err(format!("{shown} holds no certificate; expected -----BEGIN CERTIFICATE----- blocks"));
    }
    // PEM parsing does not look inside a certificate; the TLS setup does.
    // Trying it here, without the system roots, makes it cheap.
    let mut trial = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false);
    for cert in &certs {
        trial = trial.add_root_certificate(cert.clone());
    }
    trial.build().map_err(|e| {
        format!(
            "{shown} holds a certificate TLS cannot use ({}); expected CA certificates",
            crate::error_text::with_causes(&e)
        )
    })?;
    Ok(certs)
}
