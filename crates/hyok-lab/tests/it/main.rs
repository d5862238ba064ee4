//! The `hyok-lab` command and the in-process lab, over real sockets.

mod cli;
mod in_process;
