//! Simulated OCI network: regions, VCNs, subnets, security lists, links, and the lab connector
