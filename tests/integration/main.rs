//! Integration tests: each runs the real `sandpiper` binary on real files
//! and loopback sockets and checks what comes out. One test binary (as in
//! ripgrep) keeps link time down.

#![allow(clippy::unwrap_used)]

mod common;

mod cli;
mod grammars;
mod logstreamer;
mod reload;
mod reload_on_change;
mod sandbox_plugins;
mod sandboxes;
mod sbmgr;
mod tcp;
mod tools;
