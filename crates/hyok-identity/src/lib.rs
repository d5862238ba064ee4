//! OCI IAM identity domain: OAuth2/OIDC client credentials, SCIM apps, JWKS
