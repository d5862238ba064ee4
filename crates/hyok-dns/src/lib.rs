//! OCI private DNS model (views, zones, records, resolvers) served by hickory-server
