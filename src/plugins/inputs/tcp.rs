//! `TcpInput`: listens on a TCP address; each connection is a stream with
//! its own splitter (default HekaFramingSplitter) and decoder (default
//! ProtobufDecoder). Signed records are checked against
//! `[<name>.signer.<signer>_<version>] hmac_key` tables (here or on the
//! splitter). Without message bytes, messages get Type = input name and
//! Hostname = the peer address, as in Heka.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::config::{Category, ConfigError};
use crate::plugins::context::{InputStats, StopSignal, StreamFactory, StreamHeaders};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::splitters::heka_framing::{SignerKeyConfig, signer_keys};
use crate::plugins::{Input, InputContext, PluginError, SignerKeys};

/// Options of `TcpInput`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpInputConfig {
    /// Listen address, host:port.
    pub address: String,
    /// "tcp", "tcp4" or "tcp6".
    pub net: String,
    /// TLS (not supported yet: must be false).
    pub use_tls: bool,
    /// Enable TCP keep-alive on accepted connections.
    pub keep_alive: bool,
    /// Seconds between keep-alive probes.
    pub keep_alive_period: u64,
    /// HMAC keys for signed records.
    pub signer: HashMap<String, SignerKeyConfig>,
}

impl Default for TcpInputConfig {
    fn default() -> Self {
        TcpInputConfig {
            address: String::new(),
            net: "tcp".into(),
            use_tls: false,
            keep_alive: false,
            keep_alive_period: 7200,
            signer: HashMap::new(),
        }
    }
}

/// The input.
pub struct TcpInput {
    c: TcpInputConfig,
    keys: Arc<SignerKeys>,
}

/// Read buffer size per connection.
const READ_SIZE: usize = 64 * 1024;

async fn handle_connection(
    mut socket: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    input_name: String,
    streams: Arc<dyn StreamFactory>,
    keys: Arc<SignerKeys>,
    stats: Arc<InputStats>,
    stop: StopSignal,
) {
    let mut stream = match streams.new_stream() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(plugin = %input_name, "Cannot set up a stream for {peer}: {e}");
            return;
        }
    };
    stream.set_headers(StreamHeaders {
        msg_type: input_name.as_bytes().to_vec(),
        logger: input_name.as_bytes().to_vec(),
        hostname: peer.to_string().into_bytes(),
    });
    if !keys.is_empty() {
        stream.set_signers(Arc::clone(&keys));
    }
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = tokio::select! {
            r = socket.read(&mut buf) => r,
            () = stop.wait_async() => break,
        };
        match n {
            Ok(0) => break,
            Ok(n) => tokio::task::block_in_place(|| stream.deliver(&buf[..n])),
            Err(e) => {
                InputStats::inc(&stats.errors);
                tracing::warn!(plugin = %input_name, "Reading from {peer} failed: {e}");
                break;
            }
        }
    }
    tokio::task::block_in_place(|| {
        stream.finish_record();
        drop(stream);
    });
}

impl Input for TcpInput {
    fn run(&mut self, cx: &mut InputContext) -> Result<(), PluginError> {
        let address = self.c.address.clone();
        let listener = cx
            .runtime
            .block_on(TcpListener::bind(&address))
            .map_err(|e| PluginError::io(format!("listening on {address}"), e))?;
        tracing::info!(plugin = %cx.name, "Listening on {}", listener.local_addr().map_or(address.clone(), |a| a.to_string()));
        let stop = cx.stop.clone();
        let name = cx.name.clone();
        let streams = Arc::clone(&cx.streams);
        let stats = Arc::clone(&cx.report);
        let keys = Arc::clone(&self.keys);
        let keep_alive =
            self.c.keep_alive.then(|| Duration::from_secs(self.c.keep_alive_period.max(1)));
        cx.runtime.block_on(async move {
            let mut tasks = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    () = stop.wait_async() => break,
                };
                match accepted {
                    Ok((socket, peer)) => {
                        if let Some(period) = keep_alive {
                            let ka = socket2::TcpKeepalive::new().with_time(period);
                            let _ = socket2::SockRef::from(&socket).set_tcp_keepalive(&ka);
                        }
                        tasks.spawn(handle_connection(
                            socket,
                            peer,
                            name.clone(),
                            Arc::clone(&streams),
                            Arc::clone(&keys),
                            Arc::clone(&stats),
                            stop.clone(),
                        ));
                    }
                    Err(e) => {
                        InputStats::inc(&stats.errors);
                        tracing::warn!(plugin = %name, "TCP accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
        });
        Ok(())
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: TcpInputConfig = cx.config()?;
    if c.address.is_empty() {
        return Err(cx.error(Some("address"), "is required"));
    }
    if c.use_tls {
        return Err(cx.error(Some("use_tls"), "TLS is not supported yet"));
    }
    if !["tcp", "tcp4", "tcp6"].contains(&c.net.as_str()) {
        return Err(cx.error(Some("net"), format!("unsupported network '{}'", c.net)));
    }
    let keys = Arc::new(signer_keys(&c.signer));
    Ok(Built::Input(Box::new(TcpInput { c, keys })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "TcpInput",
    category: Category::Input,
    build,
    defaults: Defaults {
        splitter: Some("HekaFramingSplitter"),
        decoder: Some("ProtobufDecoder"),
        ..Defaults::NONE
    },
};
