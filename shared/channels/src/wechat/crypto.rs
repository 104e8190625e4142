//! WeChat's safe (AES) mode: the `EncodingAESKey` and the decryption of `Encrypt`.
//! (providers.md §3.8, §4.5.)
//!
//! The cipher is RustCrypto's AES-256-CBC; only WeChat's own framing is done here:
//! its PKCS#7 pads to 32-byte blocks (not AES's 16), which the `block-padding` crate
//! rejects for pad values above 16, so the pad is checked by hand over 1..=32.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::signature::secret_eq;

/// Base64 that accepts non-zero trailing bits: a 43-character `EncodingAESKey` plus
/// "=" carries two spare bits that WeChat's random keys (and the SDK vector) set.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// WeChat pads the plaintext to multiples of this.
const PAD_BLOCK: usize = 32;
/// The random prefix before the length.
const RANDOM_PREFIX: usize = 16;

/// The 32-byte AES key; its Debug output hides it.
#[derive(Clone)]
pub struct AesKey([u8; 32]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey([redacted])")
    }
}

impl AesKey {
    /// Base64Decode(EncodingAESKey + "="), which must give 32 bytes.
    pub fn from_encoding_aes_key(key: &str) -> Option<AesKey> {
        let bytes = LENIENT_B64.decode(format!("{}=", key.trim())).ok()?;
        <[u8; 32]>::try_from(bytes.as_slice()).ok().map(AesKey)
    }
}

/// Why an `Encrypt` value did not give a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptError {
    /// Not base64, not whole blocks, bad padding or length: a wrong key or a broken body.
    Malformed(&'static str),
    /// It decrypted, but was encrypted for another AppID.
    WrongAppId,
}

/// Decrypts `Encrypt`: 16 random bytes ‖ 4-byte big-endian length ‖ XML ‖ AppID, and
/// checks that the AppID is ours. Returns the XML.
pub fn decrypt(key: &AesKey, encrypt: &str, app_id: &str) -> Result<String, DecryptError> {
    let mut buf = LENIENT_B64
        .decode(encrypt.trim())
        .map_err(|_| DecryptError::Malformed("Encrypt is not base64"))?;
    let (k, iv) = (&key.0[..], &key.0[..16]);
    let decryptor = cbc::Decryptor::<aes::Aes256>::new_from_slices(k, iv)
        .map_err(|_| DecryptError::Malformed("bad key length"))?;
    let plain = decryptor
        .decrypt_padded::<NoPadding>(&mut buf)
        .map_err(|_| DecryptError::Malformed("Encrypt is not whole AES blocks"))?;
    let pad = usize::from(*plain.last().ok_or(DecryptError::Malformed("empty"))?);
    if !(1..=PAD_BLOCK).contains(&pad) || plain.len() < RANDOM_PREFIX + 4 + pad {
        return Err(DecryptError::Malformed("bad padding"));
    }
    let framed = &plain[RANDOM_PREFIX..plain.len() - pad];
    let (len, rest) = framed.split_at(4);
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len > rest.len() {
        return Err(DecryptError::Malformed("length beyond the plaintext"));
    }
    let (xml, from_id) = rest.split_at(len);
    let from_id = std::str::from_utf8(from_id).map_err(|_| DecryptError::WrongAppId)?;
    if !secret_eq(from_id, app_id) {
        return Err(DecryptError::WrongAppId);
    }
    String::from_utf8(xml.to_vec()).map_err(|_| DecryptError::Malformed("XML is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{sorted_sha1, verify_hex};

    const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    const ID: &str = "wx49f0ab532d5d035a";
    const ENCRYPT: &str = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";

    /// wechatpy `tests/test_utils.py` (providers.md §4.4).
    #[test]
    fn wechatpy_signature_vectors() {
        let sig = sorted_sha1(&["test", "1410685589", "test"]);
        assert!(verify_hex(&sig, "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"));
        assert!(!verify_hex(
            &sig,
            "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe"
        ));
        assert_eq!(
            hex::encode(sorted_sha1(&["789", "456", "123"])),
            "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
        );
    }

    /// wechatpy `tests/test_crypto.py` (providers.md §4.5), WeCom's CorpID as the AppID.
    #[test]
    fn wechatpy_safe_mode_decrypt_vector() {
        let sig = sorted_sha1(&["123456", "1411525903", "461056294", ENCRYPT]);
        assert!(verify_hex(&sig, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"));
        let key = AesKey::from_encoding_aes_key(KEY).unwrap();
        let xml = decrypt(&key, ENCRYPT, ID).unwrap();
        assert!(xml.contains("<Content><![CDATA[test]]></Content>"), "{xml}");
        assert!(xml.contains("<FromUserName><![CDATA[messense]]></FromUserName>"));
        assert_eq!(
            decrypt(&key, ENCRYPT, "wx0000000000000000"),
            Err(DecryptError::WrongAppId)
        );
        let other = AesKey::from_encoding_aes_key("A".repeat(43).as_str()).unwrap();
        assert!(decrypt(&other, ENCRYPT, ID).is_err());
    }

    /// The same file's echostr vector: signature over four parts, and it decrypts.
    #[test]
    fn wechatpy_echostr_vector() {
        let echo = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
        let sig = sorted_sha1(&["123456", "1411443780", "437374425", echo]);
        assert!(verify_hex(&sig, "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"));
        let key = AesKey::from_encoding_aes_key(KEY).unwrap();
        assert!(decrypt(&key, echo, ID).is_ok());
    }

    #[test]
    fn bad_keys_and_ciphertexts_are_refused() {
        assert!(AesKey::from_encoding_aes_key("short").is_none());
        let key = AesKey::from_encoding_aes_key(KEY).unwrap();
        assert!(decrypt(&key, "not base64!", ID).is_err());
        assert!(decrypt(&key, "AAAA", ID).is_err());
        assert!(decrypt(&key, "", ID).is_err());
    }
}
