//! Signature checks shared by adapters: HMACs over raw bytes, compared in constant time.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// HMAC-SHA256 of `body` under `key`.
pub fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 of `body` under `key` (Twilio's scheme).
pub fn hmac_sha1(key: &[u8], body: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Whether `given` (hex, any case) is the HMAC-SHA256 of `body`.
pub fn verify_hex_sha256(key: &[u8], body: &[u8], given: &str) -> bool {
    match hex::decode(given.trim()) {
        Ok(sig) => bool::from(sig.ct_eq(&hmac_sha256(key, body))),
        Err(_) => false,
    }
}

/// Whether `given` (standard base64) equals `expected`.
pub fn verify_base64(expected: &[u8], given: &str) -> bool {
    match base64::engine::general_purpose::STANDARD.decode(given.trim()) {
        Ok(sig) => bool::from(sig.ct_eq(expected)),
        Err(_) => false,
    }
}

/// SHA-1 of the parts sorted bytewise and concatenated (WeChat's scheme: the token,
/// timestamp and nonce, plus the `Encrypt` text in safe mode).
pub fn sorted_sha1(parts: &[&str]) -> [u8; 20] {
    use sha1::Digest;
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// Whether `given` (hex, any case) equals `expected`.
pub fn verify_hex(expected: &[u8], given: &str) -> bool {
    match hex::decode(given.trim()) {
        Ok(sig) => bool::from(sig.ct_eq(expected)),
        Err(_) => false,
    }
}

/// Constant-time string equality (shared secrets sent verbatim, like Telegram's).
pub fn secret_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LINE's SDK vector (providers.md §4.1): base64 HMAC-SHA256.
    #[test]
    fn line_sdk_vector() {
        let mac = hmac_sha256(b"channel_secret", b"bodybodybodybody");
        assert!(verify_base64(
            &mac,
            "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="
        ));
        assert!(!verify_base64(&mac, "invalid_signature"));
    }

    /// Viber's SDK vector (providers.md §4.3): hex HMAC-SHA256.
    #[test]
    fn viber_sdk_vector() {
        let body =
            br#"{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}"#;
        assert!(verify_hex_sha256(
            b"44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3",
            body,
            "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
        ));
        assert!(!verify_hex_sha256(b"other", body, "d21b34"));
        assert!(!verify_hex_sha256(b"k", body, "not hex"));
    }
}
