//! The `hyok-lab` command and the in-process lab, over real sockets.

mod check;
mod cli;
mod compose;
mod deployment_health;
mod in_process;
mod proxy;
