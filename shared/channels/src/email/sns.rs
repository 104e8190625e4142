//! SNS HTTPS notifications: the RSA signature over SNS's canonical string, checked with a
//! certificate from an injectable [`CertSource`] (RustCrypto `x509-cert` + `rsa`, no
//! OpenSSL).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde::Deserialize;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// An SNS message as posted to an HTTPS subscription (the body's JSON).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SnsMessage {
    #[serde(rename = "Type")]
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    pub message: String,
    pub timestamp: String,
    pub signature_version: String,
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default, rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
}

/// Where the signing certificate comes from: SNS's `SigningCertURL` in production, a fixed
/// PEM (the configured trust anchor) in tests and on the dev server.
pub trait CertSource: std::fmt::Debug + Send + Sync {
    /// The PEM certificate for that URL (already checked to be an SNS host when it matters).
    fn certificate_pem(&self, url: &str) -> Result<String, String>;
    /// Whether `SigningCertURL` must be an SNS host: true unless the anchor is fixed.
    fn requires_sns_host(&self) -> bool {
        true
    }
}

/// A fixed certificate: the "trust anchor" that tests and the dev server sign with.
#[derive(Debug, Clone)]
pub struct FixedCert(pub String);

impl CertSource for FixedCert {
    fn certificate_pem(&self, _url: &str) -> Result<String, String> {
        Ok(self.0.clone())
    }
    fn requires_sns_host(&self) -> bool {
        false
    }
}

/// Fetches `SigningCertURL` over HTTPS once per URL and caches it (SNS rotates
/// certificates by URL, so a cached URL never changes content).
///
/// The webhook path is synchronous, so the fetch runs on its own thread with its own
/// small runtime; it happens once per certificate, with the shared timeouts.
#[derive(Debug, Default, Clone)]
pub struct HttpsCertSource {
    cache: Arc<Mutex<HashMap<String, String>>>,
}

impl CertSource for HttpsCertSource {
    fn certificate_pem(&self, url: &str) -> Result<String, String> {
        if let Some(pem) = self.cache.lock().ok().and_then(|c| c.get(url).cloned()) {
            return Ok(pem);
        }
        let owned = url.to_owned();
        let pem = std::thread::spawn(move || fetch(&owned))
            .join()
            .map_err(|_| "certificate fetch failed".to_owned())??;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(url.to_owned(), pem.clone());
        }
        Ok(pem)
    }
}

fn fetch(url: &str) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime for the certificate fetch: {e}"))?;
    rt.block_on(async {
        let http = crate::outbound::http_client().map_err(|_| "no HTTP client".to_owned())?;
        let resp = http
            .get(url)
            .send()
            .await
            .map_err(|_| "could not fetch the SNS certificate".to_owned())?;
        if !resp.status().is_success() {
            return Err(format!("SNS certificate fetch answered {}", resp.status()));
        }
        resp.text()
            .await
            .map_err(|_| "unreadable SNS certificate".to_owned())
    })
}

/// Whether the URL is on an SNS host: `^https://sns\.[-a-z0-9]+\.amazonaws\.com/`.
pub(crate) fn is_sns_cert_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://sns.") else {
        return false;
    };
    let Some((region, _path)) = rest.split_once(".amazonaws.com/") else {
        return false;
    };
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The string SNS signs: `key\nvalue\n` for each field in its documented order.
pub(crate) fn canonical_string(m: &SnsMessage) -> Option<String> {
    let mut out = String::new();
    let mut push = |k: &str, v: &str| {
        out.push_str(k);
        out.push('\n');
        out.push_str(v);
        out.push('\n');
    };
    match m.kind.as_str() {
        "Notification" => {
            push("Message", &m.message);
            push("MessageId", &m.message_id);
            if let Some(s) = &m.subject {
                push("Subject", s);
            }
            push("Timestamp", &m.timestamp);
            push("TopicArn", &m.topic_arn);
            push("Type", &m.kind);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            push("Message", &m.message);
            push("MessageId", &m.message_id);
            push("SubscribeURL", m.subscribe_url.as_deref()?);
            push("Timestamp", &m.timestamp);
            push("Token", m.token.as_deref()?);
            push("TopicArn", &m.topic_arn);
            push("Type", &m.kind);
        }
        _ => return None,
    }
    Some(out)
}

/// The RSA key of the last signing certificate seen, so a stream of notifications signed
/// with one certificate parses it once (PEM, X.509, then the key: tens of microseconds).
/// Keyed by the PEM itself, so a rotated certificate is simply parsed anew.
#[derive(Debug, Default)]
pub(crate) struct KeyCache(Mutex<Option<(String, RsaPublicKey)>>);

impl KeyCache {
    fn key(&self, pem: &str) -> Option<RsaPublicKey> {
        if let Ok(last) = self.0.lock() {
            if let Some((p, key)) = last.as_ref() {
                if p == pem {
                    return Some(key.clone());
                }
            }
        }
        let key = public_key(pem)?;
        if let Ok(mut last) = self.0.lock() {
            *last = Some((pem.to_owned(), key.clone()));
        }
        Some(key)
    }
}

/// Verifies the message's signature with the certificate `certs` supplies.
pub(crate) fn verify(
    m: &SnsMessage,
    certs: &dyn CertSource,
    keys: &KeyCache,
) -> Result<(), &'static str> {
    if certs.requires_sns_host() && !is_sns_cert_url(&m.signing_cert_url) {
        return Err("SigningCertURL is not an SNS host");
    }
    let canonical = canonical_string(m).ok_or("unknown SNS message type")?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(m.signature.trim())
        .map_err(|_| "Signature is not base64")?;
    let sig = Signature::try_from(sig.as_slice()).map_err(|_| "malformed Signature")?;
    let pem = certs
        .certificate_pem(&m.signing_cert_url)
        .map_err(|_| "SNS signing certificate unavailable")?;
    let key = keys.key(&pem).ok_or("unreadable SNS signing certificate")?;
    let ok = match m.signature_version.as_str() {
        "1" => VerifyingKey::<sha1::Sha1>::new(key)
            .verify(canonical.as_bytes(), &sig)
            .is_ok(),
        "2" => VerifyingKey::<sha2::Sha256>::new(key)
            .verify(canonical.as_bytes(), &sig)
            .is_ok(),
        _ => return Err("unknown SignatureVersion"),
    };
    if ok {
        Ok(())
    } else {
        Err("wrong SNS signature")
    }
}

/// The RSA public key of a PEM certificate.
fn public_key(pem: &str) -> Option<RsaPublicKey> {
    let cert = Certificate::from_pem(pem.as_bytes()).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    RsaPublicKey::from_public_key_der(&spki).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_url_must_be_an_sns_host() {
        assert!(is_sns_cert_url(
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
        ));
        assert!(!is_sns_cert_url("http://sns.us-east-1.amazonaws.com/x.pem"));
        assert!(!is_sns_cert_url(
            "https://sns.evil.com/.amazonaws.com/x.pem"
        ));
        assert!(!is_sns_cert_url("https://sns.us_east.amazonaws.com/x.pem"));
        assert!(!is_sns_cert_url(
            "https://evil.example/sns.us-east-1.amazonaws.com/"
        ));
        assert!(!is_sns_cert_url("https://sns..amazonaws.com/x.pem"));
    }

    #[test]
    fn the_key_cache_follows_the_certificate() {
        let pem = include_str!("../../tests/fixtures/sns_test_cert.pem");
        let cache = KeyCache::default();
        let key = cache.key(pem);
        assert!(key.is_some());
        assert_eq!(cache.key(pem), key);
        // Another certificate is parsed, never answered from the cache.
        assert_eq!(cache.key("not a certificate"), None);
        assert_eq!(cache.key(pem), public_key(pem));
    }

    #[test]
    fn canonical_string_follows_the_documented_order() {
        let m: SnsMessage = serde_json::from_value(serde_json::json!({
            "Type": "Notification", "MessageId": "id1", "TopicArn": "arn:t", "Message": "hello",
            "Timestamp": "2012-04-26T20:45:04.751Z", "SignatureVersion": "1", "Signature": "",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/c.pem", "Subject": "subj"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            canonical_string(&m).as_deref(),
            Some("Message\nhello\nMessageId\nid1\nSubject\nsubj\nTimestamp\n2012-04-26T20:45:04.751Z\nTopicArn\narn:t\nType\nNotification\n")
        );
    }
}
