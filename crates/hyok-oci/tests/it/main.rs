//! Integration tests of hyok-oci.
