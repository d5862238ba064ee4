//! Helpers for HYOK Lab tests: tracing init, eventually, in-process labs
