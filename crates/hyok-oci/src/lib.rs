//! OCI services: request signing, networking, DNS, Certificates, KMS, Object Storage
