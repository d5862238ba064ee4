//! The services of the compose topology, by the name `hyok-lab serve` knows them by.

/// The services `hyok-lab serve` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The IAM identity domain.
    Identity,
    /// CipherTrust Manager in AMS.
    Ctm,
    /// The API gateway's data plane (its control plane is an OCI service).
    ApiGateway,
    /// DNS: every VCN's resolver, Internet DNS and the host resolver.
    Dns,
    /// The OCI region: Networking, DNS API, Certificates, API Gateway control plane, KMS,
    /// Object Storage; owner of the network and DNS models.
    Oci,
}

impl Role {
    /// The name used on the command line and for fragments.
    pub fn name(self) -> &'static str {
        match self {
            Role::Identity => "identity",
            Role::Ctm => "ctm",
            Role::ApiGateway => "api-gateway",
            Role::Dns => "dns",
            Role::Oci => "oci",
        }
    }
}
