//! End-to-end tests: a whole lab in-process, driven the way a person on the host drives it.

mod block_under_load;
mod compose;
mod conformance;
mod container;
mod host_tools;
mod proxy;
mod python_sdk;
mod scenarios;
mod support;
#[cfg(unix)]
mod workshop;
