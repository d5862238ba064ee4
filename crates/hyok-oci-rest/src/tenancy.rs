//! The lab's OCI identity: tenancy, compartment, user and the user's API signing key, plus the
//! registry of public keys the signature verifier trusts and the `oci` CLI config writer.

use crate::Error;
use md5::{Digest as _, Md5};
use parking_lot::RwLock;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use std::{
    collections::HashMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
};

/// Bits of the lab's API signing keys (the size `oci setup keys` makes).
pub const API_KEY_BITS: usize = 2048;

/// A fresh RSA private key of `bits` bits (2048 or more).
pub fn generate_rsa_key(bits: usize) -> Result<rsa::PrivateKey, Error> {
    hyok_core::rsa_key::generate(bits).map_err(|e| Error::Key(e.to_string()))
}

/// OCI's key fingerprint: the MD5 of the public key's SubjectPublicKeyInfo DER, as
/// colon-separated lowercase hex pairs (`openssl rsa -pubout -outform DER | openssl md5 -c`).
pub fn fingerprint(public: &rsa::PublicKey) -> Result<String, Error> {
    let der = public.to_public_key_der().map_err(|e| Error::Key(e.to_string()))?;
    let digest = Md5::digest(der.as_bytes());
    let mut out = String::with_capacity(47);
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
    Ok(out)
}

/// An API signing key of a user: the private half stays with the caller (CLI, scenario runner),
/// the public half is registered in a [`KeyStore`].
#[derive(Clone)]
pub struct ApiKey {
    private: rsa::PrivateKey,
    fingerprint: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

impl ApiKey {
    /// A new RSA-2048 key.
    pub fn generate() -> Result<Self, Error> {
        Self::from_private(generate_rsa_key(API_KEY_BITS)?)
    }

    /// Wrap an existing private key.
    pub fn from_private(private: rsa::PrivateKey) -> Result<Self, Error> {
        let fingerprint = fingerprint(&private.to_public_key())?;
        Ok(Self { private, fingerprint })
    }

    /// Load a key from PEM (PKCS#8 or PKCS#1; a trailing `OCI_API_KEY` label line is allowed).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let pem = strip_label(pem);
        let private = rsa::PrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| Error::Key(format!("not an RSA private key PEM: {e}")))?;
        Self::from_private(private)
    }

    /// The private key (for signing).
    pub fn private_key(&self) -> &rsa::PrivateKey {
        &self.private
    }

    /// The public key.
    pub fn public_key(&self) -> rsa::PublicKey {
        self.private.to_public_key()
    }

    /// Colon-separated MD5 fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// PKCS#8 PEM of the private key followed by the `OCI_API_KEY` label line, as the Console's
    /// downloaded keys look and as the CLI expects (it warns without the label).
    pub fn private_pem_labelled(&self) -> Result<String, Error> {
        let pem = self.private.to_pkcs8_pem(LineEnding::LF).map_err(|e| Error::Key(e.to_string()))?;
        Ok(format!("{}OCI_API_KEY\n", pem.as_str()))
    }

    /// SubjectPublicKeyInfo PEM of the public key (what a user uploads to the Console).
    pub fn public_pem(&self) -> Result<String, Error> {
        self.public_key().to_public_key_pem(LineEnding::LF).map_err(|e| Error::Key(e.to_string()))
    }
}

fn strip_label(pem: &str) -> &str {
    match pem.find("-----END") {
        Some(start) => match pem[start..].find("-----\n").or_else(|| pem[start..].rfind("-----")) {
            Some(rel) => &pem[..start + rel + 5],
            None => pem,
        },
        None => pem,
    }
}

/// The lab tenancy's identity objects.
#[derive(Clone, Debug)]
pub struct Tenancy {
    /// Tenancy name (the CLI's `--tenancy-name`; also the Object Storage namespace seed).
    pub name: String,
    /// Tenancy OCID (`ocid1.tenancy.oc1..…`).
    pub tenancy_id: String,
    /// Compartment name.
    pub compartment_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// User name.
    pub user_name: String,
    /// User OCID.
    pub user_id: String,
    /// Region identifier.
    pub region: String,
    /// The user's API signing key.
    pub api_key: ApiKey,
}

impl Tenancy {
    /// A new tenancy with fresh OCIDs and a fresh RSA-2048 API key.
    pub fn generate(name: &str, compartment_name: &str, user_name: &str) -> Result<Self, Error> {
        Ok(Self::with_key(name, compartment_name, user_name, ApiKey::generate()?))
    }

    /// A new tenancy around an existing API key (tests reuse one key to save RSA key generation).
    pub fn with_key(name: &str, compartment_name: &str, user_name: &str, api_key: ApiKey) -> Self {
        Self {
            name: name.to_string(),
            tenancy_id: hyok_core::ids::ocid("tenancy", None),
            compartment_name: compartment_name.to_string(),
            compartment_id: hyok_core::ids::ocid("compartment", None),
            user_name: user_name.to_string(),
            user_id: hyok_core::ids::ocid("user", None),
            region: hyok_core::ids::REGION.to_string(),
            api_key,
        }
    }

    /// `<tenancy>/<user>/<fingerprint>`, the signature `keyId`.
    pub fn key_id(&self) -> String {
        format!("{}/{}/{}", self.tenancy_id, self.user_id, self.api_key.fingerprint())
    }

    /// Register this user's public key in `keys`.
    pub fn register(&self, keys: &KeyStore) {
        keys.insert(self.key_id(), self.api_key.public_key());
    }
}

/// Who signed a verified request; handlers read it from request extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The full keyId.
    pub key_id: String,
    /// Tenancy OCID part.
    pub tenancy_id: String,
    /// User OCID part.
    pub user_id: String,
    /// Key fingerprint part.
    pub fingerprint: String,
}

impl Principal {
    /// Split a keyId into its three parts; `None` unless it has exactly the OCI shape.
    pub fn parse(key_id: &str) -> Option<Self> {
        let mut parts = key_id.split('/');
        let (t, u, f) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || t.is_empty() || u.is_empty() || f.is_empty() {
            return None;
        }
        Some(Self { key_id: key_id.to_string(), tenancy_id: t.into(), user_id: u.into(), fingerprint: f.into() })
    }
}

/// Public keys by keyId. Cheap to clone; every OCI service of the lab shares one.
#[derive(Clone, Debug, Default)]
pub struct KeyStore {
    inner: Arc<RwLock<HashMap<String, rsa::PublicKey>>>,
}

impl KeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register (or replace) the key for `key_id`.
    pub fn insert(&self, key_id: String, key: rsa::PublicKey) {
        self.inner.write().insert(key_id, key);
    }

    /// Remove a key (e.g. to model a deleted API key).
    pub fn remove(&self, key_id: &str) -> bool {
        self.inner.write().remove(key_id).is_some()
    }

    /// The key for `key_id`.
    pub fn get(&self, key_id: &str) -> Option<rsa::PublicKey> {
        self.inner.read().get(key_id).cloned()
    }
}

/// What [`write_cli_config`] wrote.
#[derive(Clone, Debug)]
pub struct CliFiles {
    /// The `config` file (pass with `--config-file` or `OCI_CLI_CONFIG_FILE`).
    pub config: PathBuf,
    /// The private key, mode 0600.
    pub key: PathBuf,
    /// The public key PEM.
    pub public_key: PathBuf,
    /// A shell file exporting the endpoints and the trust settings.
    pub env: PathBuf,
}

/// A named service endpoint to record for the CLI (`--endpoint` accepts only scheme://host[:port]).
#[derive(Clone, Debug)]
pub struct CliEndpoint {
    /// Short name, e.g. `certificates`; becomes `OCI_LAB_CERTIFICATES_ENDPOINT`.
    pub name: String,
    /// `https://host[:port]`.
    pub url: String,
}

/// Write an `oci` CLI config for `tenancy` into `dir`: `config` with a `[DEFAULT]` profile,
/// `oci_api_key.pem` (mode 0600, with the `OCI_API_KEY` label), `oci_api_key_public.pem`, and
/// `env` exporting `OCI_CLI_CONFIG_FILE`, `REQUESTS_CA_BUNDLE` (when `ca_bundle` is given) and one
/// `OCI_LAB_<NAME>_ENDPOINT` per endpoint.
pub fn write_cli_config(
    dir: &Path,
    tenancy: &Tenancy,
    ca_bundle: Option<&Path>,
    endpoints: &[CliEndpoint],
) -> Result<CliFiles, Error> {
    write_cli_config_with_proxy(dir, tenancy, ca_bundle, endpoints, None)
}

/// [`write_cli_config`], and with `proxy` (`http://127.0.0.1:PORT`) the env file also sets
/// `HTTPS_PROXY` to it and `NO_PROXY=127.0.0.1,localhost`: the CLI and SDK (`requests`) then
/// reach the real names (the config's region, a vault's endpoints) through the lab's proxy,
/// and `--endpoint https://127.0.0.1:PORT` still goes straight to the socket.
pub fn write_cli_config_with_proxy(
    dir: &Path,
    tenancy: &Tenancy,
    ca_bundle: Option<&Path>,
    endpoints: &[CliEndpoint],
    proxy: Option<&str>,
) -> Result<CliFiles, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(dir.display().to_string(), e))?;
    let key = dir.join("oci_api_key.pem");
    let public_key = dir.join("oci_api_key_public.pem");
    let config = dir.join("config");
    let env = dir.join("env");
    write_file(&key, tenancy.api_key.private_pem_labelled()?.as_bytes(), 0o600)?;
    write_file(&public_key, tenancy.api_key.public_pem()?.as_bytes(), 0o644)?;
    let text = format!(
        "[DEFAULT]\nuser={}\nfingerprint={}\ntenancy={}\nregion={}\nkey_file={}\n",
        tenancy.user_id,
        tenancy.api_key.fingerprint(),
        tenancy.tenancy_id,
        tenancy.region,
        key.display()
    );
    write_file(&config, text.as_bytes(), 0o600)?;
    let mut env_text = format!("export OCI_CLI_CONFIG_FILE={}\n", shell_quote(&config.display().to_string()));
    if let Some(ca) = ca_bundle {
        let _ = writeln!(env_text, "export REQUESTS_CA_BUNDLE={}", shell_quote(&ca.display().to_string()));
    }
    let _ = writeln!(env_text, "export OCI_LAB_COMPARTMENT_ID={}", tenancy.compartment_id);
    let _ = writeln!(env_text, "export OCI_LAB_TENANCY_ID={}", tenancy.tenancy_id);
    for ep in endpoints {
        let name: String =
            ep.name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        let _ = writeln!(env_text, "export OCI_LAB_{name}_ENDPOINT={}", shell_quote(&ep.url));
    }
    if let Some(proxy) = proxy {
        // Both spellings: `requests` reads either, curl reads `https_proxy` and `no_proxy`.
        for var in ["HTTPS_PROXY", "https_proxy"] {
            let _ = writeln!(env_text, "export {var}={}", shell_quote(proxy));
        }
        for var in ["NO_PROXY", "no_proxy"] {
            let _ = writeln!(env_text, "export {var}=127.0.0.1,localhost");
        }
    }
    write_file(&env, env_text.as_bytes(), 0o644)?;
    Ok(CliFiles { config, key, public_key, env })
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let err = |e| Error::Io(path.display().to_string(), e);
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mut f =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path).map_err(err)?;
        // The mode given to open() only applies to new files; fix an existing file too.
        f.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(err)?;
        f.write_all(bytes).map_err(err)?;
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        std::fs::write(path, bytes).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_split_into_three_parts() {
        let p = Principal::parse("ocid1.tenancy.oc1..aaaa/ocid1.user.oc1..bbbb/aa:bb").expect("parse");
        assert_eq!(p.user_id, "ocid1.user.oc1..bbbb");
        assert!(Principal::parse("a/b").is_none());
        assert!(Principal::parse("a/b/c/d").is_none());
        assert!(Principal::parse("a//c").is_none());
    }

    #[test]
    fn label_line_is_stripped() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nOCI_API_KEY\n";
        assert_eq!(strip_label(pem), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----");
    }
}
