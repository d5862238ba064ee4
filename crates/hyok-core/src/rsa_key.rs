//! RSA keys for the services that need them (JWT signing, OCI API keys, RSA web certificates).
//!
//! `rsa` 0.10 takes a `rand_core` 0.10 generator; this adapter feeds it from `rand`'s
//! thread-local CSPRNG so every crate uses the same, audited source.

/// A cryptographically secure generator in the shape `rsa` 0.10 wants.
#[derive(Clone, Copy, Debug, Default)]
pub struct CryptoRng;

impl rsa::rand_core::TryRng for CryptoRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand::random())
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand::random())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::Rng::fill(&mut rand::rng(), dst);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for CryptoRng {}

/// A new RSA private key of `bits` (2048 or more).
pub fn generate(bits: usize) -> Result<rsa::PrivateKey, rsa::Error> {
    rsa::PrivateKey::new(&mut CryptoRng, bits)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_fresh() {
        let a = super::generate(2048).expect("key");
        let b = super::generate(2048).expect("key");
        assert_ne!(a.to_public_key(), b.to_public_key());
    }
}
