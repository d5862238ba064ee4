//! What the containers of the compose topology share (`docker/compose.yaml`; `compose`
//! serves one service per container): the roles, the fragments each leaves for the region's
//! lab.json, the region's internal API and its client, the container dialer, container hop logs.
//!
//! The OCI region (`serve oci`) owns the network and DNS models, because the OCI Networking and
//! DNS APIs change them. The other containers use them over the region's internal endpoints:
//! the DNS container answers real DNS queries from the region's model, and a container that
//! dials asks its VCN's resolver (real DNS, in the DNS container), then asks the region whether
//! routing and security lists let the connection through, then connects to the address itself
//! (Docker gives each container its tutorial address where it can).
//!
//! Invariant: every container in the topology shares the lab dir (a bind mount) and the world
//! file; the region writes `lab.json` last, from its own services and the fragments the others
//! left in `<lab-dir>/compose/`.

mod dial;
mod events;
mod fragment;
mod region;
mod role;

pub(crate) use dial::vcn_selector;
pub use dial::{ContainerDial, vcn_of, vcn_resolver_offset};
pub use events::container_events;
pub use fragment::Fragment;
pub use region::{NetDecision, RegionClient, RegionOptions, internal_token, parse_proxy_via, region_resolve};
pub use role::Role;
