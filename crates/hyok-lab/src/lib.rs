//! Composes the lab: starts every service, writes lab.json, status and down
