//! What the load tool shares with tests: a minimal Lambda Runtime API, to run the real
//! function binaries locally.

pub mod runtime_api;
