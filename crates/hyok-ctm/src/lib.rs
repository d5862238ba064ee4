//! Thales CipherTrust Manager: auth, CA, keys, CCKM for OCI and the External KMS vendor API
