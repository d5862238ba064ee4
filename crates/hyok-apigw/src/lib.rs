//! OCI API Gateway: deployments, routes, JWT policies, TLS-terminating proxy
