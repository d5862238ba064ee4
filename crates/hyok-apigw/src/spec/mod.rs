//! OCI's `ApiSpecification` (the body of a deployment) as serde types, and its validation.
//!
//! Field names and enum values follow the OCI SDK (`apigateway` package): camelCase, a `type`
//! discriminator on polymorphic objects. Only the parts the lab executes are modelled; anything
//! else is refused by name (unknown fields fail to parse) rather than silently ignored.
//! Validation messages name the offending field the way OCI does
//! (`specification.routes[0].backend.url: …`).

mod model;
mod validate;

pub use model::*;
pub use validate::{SpecError, join_errors, parse_specification, validate};
