//! Object encryption: the STREAM construction over AES-256-GCM, and AES-256-GCM key wrapping.
//!
//! An object file is a header followed by segments. Each segment is at most `segment_size`
//! plaintext bytes sealed with AES-256-GCM under the object's own data key (DEK). The nonce of
//! segment `i` is `prefix(7) ‖ i as u32 BE ‖ last(1)`, and every segment authenticates the header
//! as associated data. So reordering, dropping, duplicating or truncating segments, and swapping
//! a header, all fail authentication; only the final segment may be short.
//!
//! Invariant: plaintext is only ever held in a caller's buffer, never written anywhere here.

use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use rand::Rng as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};

/// File magic and format version.
pub const MAGIC: &[u8; 8] = b"HYOKOS01";
/// Bytes of the object file header: magic, segment size (u32 BE), nonce prefix (7), reserved (1).
pub const HEADER_LEN: usize = 20;
/// AES-GCM tag bytes per segment.
pub const TAG_LEN: usize = 16;
/// Default plaintext bytes per segment.
pub const SEGMENT_SIZE: usize = 64 * 1024;
/// Largest segment size a header may declare (bounds the reader's buffer).
pub const MAX_SEGMENT_SIZE: usize = 4 * 1024 * 1024;
/// Name of the scheme, recorded in each object's metadata.
pub const SCHEME: &str = "AES_256_GCM_STREAM";

/// Why sealing or opening failed. Messages never include key or plaintext material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The header is not ours or declares an impossible segment size.
    #[error("object header is not valid: {0}")]
    BadHeader(&'static str),
    /// A segment failed authentication (tampered, reordered, truncated or wrong key).
    #[error("segment {0} failed authentication")]
    Segment(u32),
    /// The stream continued after its final segment, or ended without one.
    #[error("object stream is malformed: {0}")]
    Framing(&'static str),
    /// The AEAD refused the key.
    #[error("the data key is not a usable AES-256 key")]
    Key,
}

// ring's AES-256-GCM (same construction and bytes as RustCrypto's `aes-gcm`, which this crate
// used before): it selects AES-NI/VAES and carry-less multiply at run time and is about 3x
// faster here, which matters because every object byte passes through it.
fn cipher(key: &[u8; 32]) -> Result<LessSafeKey, CryptoError> {
    // ring refuses only keys of the wrong length, which a `[u8; 32]` cannot be.
    UnboundKey::new(&AES_256_GCM, key).map(LessSafeKey::new).map_err(|_| CryptoError::Key)
}

fn nonce(prefix: &[u8], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    // Unique per key: the counter never repeats within an object and every object has its own key.
    Nonce::assume_unique_for_key(n)
}

/// Seals segments of one object.
pub struct Sealer {
    cipher: LessSafeKey,
    header: [u8; HEADER_LEN],
    counter: u32,
    finished: bool,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("counter", &self.counter).finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer with a fresh random nonce prefix.
    pub fn new(dek: &[u8; 32], segment_size: usize) -> Result<Self, CryptoError> {
        if segment_size == 0 || segment_size > MAX_SEGMENT_SIZE {
            return Err(CryptoError::BadHeader("segment size out of range"));
        }
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&(segment_size as u32).to_be_bytes());
        rand::rng().fill(&mut header[12..19]);
        Ok(Self { cipher: cipher(dek)?, header, counter: 0, finished: false })
    }

    /// The header to write before the first segment.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// Encrypt the plaintext in `buf` in place and append the tag. `last` marks the final
    /// segment (which may be shorter than the segment size, or empty).
    pub fn seal(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<(), CryptoError> {
        let tag = self.seal_detached(buf, last)?;
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// Encrypt one segment of plaintext in place and return its tag, which the caller stores
    /// right after the segment. Lets a caller seal segments lying back to back in one buffer.
    pub fn seal_detached(&mut self, segment: &mut [u8], last: bool) -> Result<[u8; TAG_LEN], CryptoError> {
        if self.finished {
            return Err(CryptoError::Framing("segment after the final segment"));
        }
        let n = nonce(&self.header[12..19], self.counter, last);
        let tag = self
            .cipher
            .seal_in_place_separate_tag(n, Aad::from(&self.header), segment)
            .map_err(|_| CryptoError::Segment(self.counter))?;
        self.finished = last;
        self.counter = self.counter.checked_add(1).ok_or(CryptoError::Framing("too many segments"))?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
}

/// Opens segments of one object, in order.
pub struct Opener {
    cipher: LessSafeKey,
    header: [u8; HEADER_LEN],
    segment_size: usize,
    counter: u32,
    finished: bool,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener").field("counter", &self.counter).finish_non_exhaustive()
    }
}

impl Opener {
    /// Check a header and prepare to open the segments behind it.
    pub fn new(dek: &[u8; 32], header: &[u8]) -> Result<Self, CryptoError> {
        let header: [u8; HEADER_LEN] = header.try_into().map_err(|_| CryptoError::BadHeader("short header"))?;
        if &header[..8] != MAGIC {
            return Err(CryptoError::BadHeader("unknown magic"));
        }
        let segment_size = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
        if segment_size == 0 || segment_size > MAX_SEGMENT_SIZE {
            return Err(CryptoError::BadHeader("segment size out of range"));
        }
        Ok(Self { cipher: cipher(dek)?, header, segment_size, counter: 0, finished: false })
    }

    /// Plaintext bytes per full segment.
    pub fn segment_size(&self) -> usize {
        self.segment_size
    }

    /// Decrypt one segment (`ciphertext ‖ tag`) in place; returns the plaintext length. A
    /// non-final segment must be exactly full.
    pub fn open(&mut self, buf: &mut [u8], last: bool) -> Result<usize, CryptoError> {
        if self.finished {
            return Err(CryptoError::Framing("segment after the final segment"));
        }
        let len = buf.len().checked_sub(TAG_LEN).ok_or(CryptoError::Framing("segment shorter than a tag"))?;
        if len > self.segment_size || (!last && len != self.segment_size) {
            return Err(CryptoError::Framing("segment has the wrong length"));
        }
        let (msg, tag) = buf.split_at_mut(len);
        let tag = Tag::try_from(&*tag).map_err(|_| CryptoError::Framing("bad tag length"))?;
        let n = nonce(&self.header[12..19], self.counter, last);
        self.cipher
            .open_in_place_separate_tag(n, Aad::from(&self.header), tag, msg, 0..)
            .map_err(|_| CryptoError::Segment(self.counter))?;
        self.finished = last;
        self.counter = self.counter.checked_add(1).ok_or(CryptoError::Framing("too many segments"))?;
        Ok(len)
    }
}

/// The segment layout implied by a ciphertext of `data_len` bytes after the header:
/// (number of segments, plaintext length). `None` when no valid layout has that length.
pub fn layout(data_len: u64, segment_size: usize) -> Option<(u64, u64)> {
    let full = (segment_size + TAG_LEN) as u64;
    let segments = data_len.div_ceil(full).max(1);
    let last = data_len.checked_sub((segments - 1) * full)?;
    if last < TAG_LEN as u64 {
        return None;
    }
    Some((segments, data_len - segments * TAG_LEN as u64))
}

/// Wrap a 32-byte key under `kek` with AES-256-GCM: base64(`nonce(12) ‖ ct(32) ‖ tag(16)`),
/// `aad` bound (e.g. the key OCID).
pub fn wrap_key(kek: &[u8; 32], key: &[u8; 32], aad: &[u8]) -> String {
    let mut n = [0u8; 12];
    rand::rng().fill(&mut n);
    let mut ct = *key;
    let mut out = Vec::with_capacity(60);
    out.extend_from_slice(&n);
    // Encrypting 32 bytes cannot exceed AES-GCM's length limits.
    let sealed = cipher(kek).and_then(|c| {
        c.seal_in_place_separate_tag(Nonce::assume_unique_for_key(n), Aad::from(aad), &mut ct)
            .map_err(|_| CryptoError::Key)
    });
    match sealed {
        Ok(tag) => {
            out.extend_from_slice(&ct);
            out.extend_from_slice(tag.as_ref());
        }
        Err(_) => out.clear(),
    }
    B64.encode(out)
}

/// Reverse [`wrap_key`]; `None` if the blob is malformed or fails authentication.
pub fn unwrap_key(kek: &[u8; 32], wrapped: &str, aad: &[u8]) -> Option<[u8; 32]> {
    let raw = B64.decode(wrapped.as_bytes()).ok()?;
    if raw.len() != 12 + 32 + TAG_LEN {
        return None;
    }
    let n: [u8; 12] = raw[..12].try_into().ok()?;
    let mut key: [u8; 32] = raw[12..44].try_into().ok()?;
    let tag = Tag::try_from(&raw[44..]).ok()?;
    cipher(kek)
        .ok()?
        .open_in_place_separate_tag(Nonce::assume_unique_for_key(n), Aad::from(aad), tag, &mut key, 0..)
        .ok()?;
    Some(key)
}

/// 32 random bytes.
pub fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::rng().fill(&mut k);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_all(dek: &[u8; 32], data: &[u8], seg: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut s = Sealer::new(dek, seg).expect("sealer");
        let header = s.header().to_vec();
        let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(seg).collect() };
        let n = chunks.len();
        let mut out = vec![];
        for (i, c) in chunks.into_iter().enumerate() {
            let mut b = c.to_vec();
            s.seal(&mut b, i + 1 == n).expect("seal");
            out.push(b);
        }
        (header, out)
    }

    fn open_all(dek: &[u8; 32], header: &[u8], segs: &mut [Vec<u8>]) -> Result<Vec<u8>, CryptoError> {
        let mut o = Opener::new(dek, header)?;
        let n = segs.len();
        let mut pt = vec![];
        for (i, s) in segs.iter_mut().enumerate() {
            let len = o.open(s, i + 1 == n)?;
            pt.extend_from_slice(&s[..len]);
        }
        Ok(pt)
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let dek = random_key();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let (h, segs) = seal_all(&dek, &data, 4096);
        assert_eq!(segs.len(), 3);
        assert_eq!(open_all(&dek, &h, &mut segs.clone()).expect("open"), data);
        // Reordered segments fail.
        let mut swapped = segs.clone();
        swapped.swap(0, 1);
        assert_eq!(open_all(&dek, &h, &mut swapped), Err(CryptoError::Segment(0)));
        // Truncation (dropping the final segment) fails: segment 1 is not marked last.
        let mut trunc = segs[..2].to_vec();
        assert_eq!(open_all(&dek, &h, &mut trunc), Err(CryptoError::Segment(1)));
        // A flipped bit fails.
        let mut bad = segs.clone();
        bad[2][5] ^= 1;
        assert_eq!(open_all(&dek, &h, &mut bad), Err(CryptoError::Segment(2)));
        // Another header (nonce prefix) fails.
        let (h2, _) = seal_all(&dek, &data, 4096);
        assert!(open_all(&dek, &h2, &mut segs.clone()).is_err());
        // Another key fails.
        assert!(open_all(&random_key(), &h, &mut segs.clone()).is_err());
    }

    #[test]
    fn empty_object_has_one_tag_only_segment() {
        let dek = random_key();
        let (h, mut segs) = seal_all(&dek, b"", 64);
        assert_eq!(segs[0].len(), TAG_LEN);
        assert_eq!(open_all(&dek, &h, &mut segs).expect("open"), b"");
        assert_eq!(layout(16, 64), Some((1, 0)));
    }

    #[test]
    fn layout_matches_sealed_sizes() {
        for len in [0usize, 1, 63, 64, 65, 128, 129, 1000] {
            let (_, segs) = seal_all(&random_key(), &vec![1u8; len], 64);
            let total: usize = segs.iter().map(Vec::len).sum();
            assert_eq!(layout(total as u64, 64), Some((segs.len() as u64, len as u64)), "len {len}");
        }
        assert_eq!(layout(10, 64), None);
        assert_eq!(layout(80 + 5, 64), None);
    }

    /// The stored format did not change when the cipher moved from RustCrypto `aes-gcm` to
    /// ring: each opens what the other sealed, so objects written before still read.
    #[test]
    fn ring_and_rustcrypto_produce_the_same_bytes() {
        use aes_gcm::{Aes256Gcm, KeyInit as _, aead::AeadInOut as _};
        let dek = random_key();
        let rc = Aes256Gcm::new(&aes_gcm::Key::<Aes256Gcm>::from(dek));
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
        let (h, segs) = seal_all(&dek, &data, 128);
        for (i, seg) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            let (ct, tag) = seg.split_at(seg.len() - TAG_LEN);
            let mut pt = ct.to_vec();
            let n = aes_gcm::aead::Nonce::<Aes256Gcm>::from(*nonce(&h[12..19], i as u32, last).as_ref());
            let tag = aes_gcm::aead::Tag::<Aes256Gcm>::try_from(tag).expect("tag");
            rc.decrypt_inout_detached(&n, &h, pt.as_mut_slice().into(), &tag).expect("RustCrypto opens ring's segment");
            assert_eq!(pt, data[i * 128..(i * 128 + 128).min(data.len())]);
            // And the other way round: RustCrypto's ciphertext is ring's, byte for byte.
            let mut again = pt.clone();
            let rc_tag = rc.encrypt_inout_detached(&n, &h, again.as_mut_slice().into()).expect("seal");
            assert_eq!(again, ct);
            assert_eq!(rc_tag.as_slice(), &seg[seg.len() - TAG_LEN..]);
        }
        // A key wrapped by RustCrypto (as before) unwraps with ring.
        let kek = random_key();
        let n = [9u8; 12];
        let mut ct = dek;
        let tag = Aes256Gcm::new(&aes_gcm::Key::<Aes256Gcm>::from(kek))
            .encrypt_inout_detached(&n.into(), b"aad", ct.as_mut_slice().into())
            .expect("wrap");
        let blob = B64.encode([&n[..], &ct, tag.as_slice()].concat());
        assert_eq!(unwrap_key(&kek, &blob, b"aad"), Some(dek));
    }

    #[test]
    fn wrapped_keys_round_trip_and_bind_aad() {
        let kek = random_key();
        let dek = random_key();
        let w = wrap_key(&kek, &dek, b"key-a");
        assert_eq!(unwrap_key(&kek, &w, b"key-a"), Some(dek));
        assert_eq!(unwrap_key(&kek, &w, b"key-b"), None);
        assert_eq!(unwrap_key(&random_key(), &w, b"key-a"), None);
        assert_eq!(unwrap_key(&kek, "not base64!", b"key-a"), None);
    }
}
