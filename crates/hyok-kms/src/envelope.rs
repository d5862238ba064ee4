//! How the vendor's encrypt blob is packed into OCI's `ciphertext` string (OCI does not document
//! its own format; see `docs/fidelity/hyok-kms.md`).
//!
//! `base64( 0x01 | flags | u16 len | key version OCID | u8 len | iv | u8 len | tag | ciphertext )`
//! with big-endian lengths; flag bit 0 says associated data was used at encryption.

use crate::vendor::Sealed;

const VERSION: u8 = 1;
const FLAG_AAD: u8 = 1;
const MAX_OCID: usize = 255;

/// An unpacked OCI ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// OCI key version OCID the data was encrypted under.
    pub key_version_id: String,
    /// Whether associated data was bound at encryption.
    pub has_aad: bool,
    /// The vendor's blob.
    pub sealed: Sealed,
}

impl Envelope {
    /// Pack into OCI's base64 `ciphertext`.
    pub fn pack(&self) -> Result<String, String> {
        use base64::Engine as _;
        let id = self.key_version_id.as_bytes();
        if id.len() > MAX_OCID || self.sealed.iv.len() > 255 || self.sealed.tag.len() > 255 {
            return Err("ciphertext envelope field too long".into());
        }
        let mut out = Vec::with_capacity(
            6 + id.len() + self.sealed.iv.len() + self.sealed.tag.len() + self.sealed.ciphertext.len(),
        );
        out.push(VERSION);
        out.push(if self.has_aad { FLAG_AAD } else { 0 });
        out.extend_from_slice(&(id.len() as u16).to_be_bytes());
        out.extend_from_slice(id);
        out.push(self.sealed.iv.len() as u8);
        out.extend_from_slice(&self.sealed.iv);
        out.push(self.sealed.tag.len() as u8);
        out.extend_from_slice(&self.sealed.tag);
        out.extend_from_slice(&self.sealed.ciphertext);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// Unpack OCI's `ciphertext`; any malformation is an error message for a 400.
    pub fn unpack(text: &str) -> Result<Self, &'static str> {
        use base64::Engine as _;
        const BAD: &str = "ciphertext is not valid: it was not produced by this vault or it was modified";
        let raw = base64::engine::general_purpose::STANDARD.decode(text.trim().as_bytes()).map_err(|_| BAD)?;
        let mut r = Reader(&raw);
        if r.u8().ok_or(BAD)? != VERSION {
            return Err(BAD);
        }
        let flags = r.u8().ok_or(BAD)?;
        if flags & !FLAG_AAD != 0 {
            return Err(BAD);
        }
        let id_len = u16::from_be_bytes([r.u8().ok_or(BAD)?, r.u8().ok_or(BAD)?]) as usize;
        let id = std::str::from_utf8(r.take(id_len).ok_or(BAD)?).map_err(|_| BAD)?.to_string();
        if !hyok_core::ids::is_ocid(&id) {
            return Err(BAD);
        }
        let iv_len = r.u8().ok_or(BAD)? as usize;
        let iv = r.take(iv_len).ok_or(BAD)?.to_vec();
        let tag_len = r.u8().ok_or(BAD)? as usize;
        let tag = r.take(tag_len).ok_or(BAD)?.to_vec();
        if iv.is_empty() || tag.is_empty() {
            return Err(BAD);
        }
        Ok(Self {
            key_version_id: id,
            has_aad: flags & FLAG_AAD != 0,
            sealed: Sealed { ciphertext: r.0.to_vec(), iv, tag },
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
}

/// CRC-32 (IEEE 802.3), the checksum OCI returns as `plaintextChecksum`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            key_version_id: "ocid1.keyversion.oc1.eu-frankfurt-1.abcdefghijkl.abaaaaaaaaaaaaaaaa".into(),
            has_aad: true,
            sealed: Sealed { ciphertext: b"secret bytes".to_vec(), iv: vec![7; 12], tag: vec![9; 16] },
        }
    }

    #[test]
    fn round_trip() {
        let e = sample();
        let text = e.pack().expect("pack");
        assert_eq!(Envelope::unpack(&text).expect("unpack"), e);
    }

    #[test]
    fn malformed_inputs_are_refused_without_panic() {
        use base64::Engine as _;
        let text = sample().pack().expect("pack");
        let raw = base64::engine::general_purpose::STANDARD.decode(&text).expect("b64");
        for n in 0..raw.len() {
            let cut = base64::engine::general_purpose::STANDARD.encode(&raw[..n]);
            // Truncations either fail or (for a cut inside the ciphertext) parse to shorter data.
            if let Ok(e) = Envelope::unpack(&cut) {
                assert!(e.sealed.ciphertext.len() < 12);
            }
        }
        assert!(Envelope::unpack("not base64!").is_err());
        let mut bad = raw.clone();
        bad[0] = 2;
        assert!(Envelope::unpack(&base64::engine::general_purpose::STANDARD.encode(&bad)).is_err());
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
