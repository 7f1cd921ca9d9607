//! `TcpOutput`: sends encoded records (by default ProtobufEncoder in Heka
//! framing, optionally HMAC-signed) to a TCP peer such as another
//! Sandpiper's or Heka's TcpInput. Connects lazily; on any error it
//! reconnects with exponential back-off and resends what was not
//! acknowledged by a complete write, so records may be duplicated but
//! never dropped. While the peer is down the output's queue fills and
//! back-pressure holds the inputs (disk buffering is not implemented yet).

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use socket2::{SockRef, TcpKeepalive};

use crate::config::{Category, ConfigError, SignerConfig};
use crate::message::{DeliveryGuard, PackRef, Signer};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Encoded, Output, OutputContext, OutputFactory, PluginError, PluginReport};

/// Options of `TcpOutput`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpOutputConfig {
    /// Peer address, host:port.
    pub address: String,
    /// Local address to bind before connecting.
    pub local_address: Option<String>,
    /// TLS (not supported yet: must be false).
    pub use_tls: bool,
    /// Enable TCP keep-alive.
    pub keep_alive: bool,
    /// Seconds between keep-alive probes.
    pub keep_alive_period: u64,
    /// Reconnect after this many messages (0 = never).
    pub reconnect_after: u64,
    /// Sign framed records.
    pub signer: Option<SignerConfig>,
}

impl Default for TcpOutputConfig {
    fn default() -> Self {
        TcpOutputConfig {
            address: "localhost:9125".into(),
            local_address: None,
            use_tls: false,
            keep_alive: false,
            keep_alive_period: 7200,
            reconnect_after: 0,
            signer: None,
        }
    }
}

/// Bytes buffered before they are sent whatever the flush settings.
const SEND_AT: usize = 256 * 1024;

/// First and largest reconnect delay.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The output.
pub struct TcpOutput {
    c: Arc<TcpOutputConfig>,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
    guards: Vec<DeliveryGuard>,
    since_connect: u64,
    /// Messages in `buf`.
    pending: u64,
    sent: u64,
    reconnects: u64,
}

impl TcpOutput {
    fn connect(&self) -> std::io::Result<TcpStream> {
        let addrs: Vec<SocketAddr> = self.c.address.to_socket_addrs()?.collect();
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        for addr in addrs {
            let socket = socket2::Socket::new(
                socket2::Domain::for_address(addr),
                socket2::Type::STREAM,
                Some(socket2::Protocol::TCP),
            )?;
            if let Some(local) = &self.c.local_address {
                let local: SocketAddr = local
                    .parse()
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                socket.bind(&local.into())?;
            }
            match socket.connect_timeout(&addr.into(), Duration::from_secs(5)) {
                Ok(()) => {
                    let stream: TcpStream = socket.into();
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
                    if self.c.keep_alive {
                        let ka = TcpKeepalive::new()
                            .with_time(Duration::from_secs(self.c.keep_alive_period.max(1)));
                        SockRef::from(&stream).set_tcp_keepalive(&ka)?;
                    }
                    return Ok(stream);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Writes the buffer, reconnecting with back-off until it is written or
    /// the pipeline stops.
    fn send(&mut self, cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut delay = BACKOFF_START;
        loop {
            if self.conn.is_none() {
                match self.connect() {
                    Ok(s) => {
                        self.conn = Some(s);
                        self.since_connect = 0;
                    }
                    Err(e) => {
                        tracing::warn!(plugin = %cx.name, "Connecting to {} failed: {e}", self.c.address);
                    }
                }
            }
            if let Some(conn) = self.conn.as_mut() {
                match conn.write_all(&self.buf) {
                    Ok(()) => {
                        self.sent += self.pending;
                        self.pending = 0;
                        self.buf.clear();
                        self.guards.clear();
                        if self.c.reconnect_after > 0
                            && self.since_connect >= self.c.reconnect_after
                        {
                            self.conn = None;
                        }
                        return Ok(());
                    }
                    Err(e) => {
                        tracing::warn!(plugin = %cx.name, "Writing to {} failed: {e}", self.c.address);
                        self.conn = None;
                        self.reconnects += 1;
                    }
                }
            }
            if cx.stop.wait(delay) {
                let lost = std::mem::take(&mut self.guards);
                cx.keep_undelivered(lost);
                self.buf.clear();
                self.pending = 0;
                return Err(PluginError::Fatal(format!(
                    "stopping with undelivered records for {}",
                    self.c.address
                )));
            }
            delay = (delay * 2).min(BACKOFF_MAX);
        }
    }
}

impl Output for TcpOutput {
    fn process_message(
        &mut self,
        pack: &PackRef,
        cx: &mut OutputContext<'_>,
    ) -> Result<(), PluginError> {
        if cx.encode(pack, &mut self.buf)? == Encoded::Output {
            self.since_connect += 1;
            self.pending += 1;
            crate::message::hold_guard(&mut self.guards, pack);
        }
        if self.buf.len() >= SEND_AT {
            self.send(cx)?;
        }
        Ok(())
    }

    fn poll(&mut self, cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        self.send(cx)
    }

    fn stop(&mut self, cx: &mut OutputContext<'_>) {
        if let Err(e) = self.send(cx) {
            tracing::error!(plugin = %cx.name, "{e}");
        }
    }

    fn report(&self, report: &mut PluginReport) {
        report.set("Address", self.c.address.clone());
        report.set("Connected", self.conn.is_some());
        report.set("SentMessageCount", self.sent);
        report.set("Reconnects", self.reconnects);
    }
}

struct Factory {
    c: Arc<TcpOutputConfig>,
}

impl OutputFactory for Factory {
    fn build(&self) -> Result<Box<dyn Output>, PluginError> {
        Ok(Box::new(TcpOutput {
            c: Arc::clone(&self.c),
            conn: None,
            buf: super::write_buffer(SEND_AT),
            guards: Vec::new(),
            since_connect: 0,
            pending: 0,
            sent: 0,
            reconnects: 0,
        }))
    }

    fn signer(&self) -> Option<Signer> {
        self.c.signer.as_ref().map(SignerConfig::signer)
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: TcpOutputConfig = cx.config()?;
    if c.use_tls {
        return Err(cx.error(Some("use_tls"), "TLS is not supported yet"));
    }
    if c.address.is_empty() {
        return Err(cx.error(Some("address"), "is required"));
    }
    if let Some(local) = &c.local_address
        && local.parse::<SocketAddr>().is_err()
    {
        return Err(cx.error(Some("local_address"), format!("'{local}' is not an ip:port address")));
    }
    Ok(Built::Output(Box::new(Factory { c: Arc::new(c) })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "TcpOutput",
    category: Category::Output,
    build,
    defaults: Defaults { encoder: Some("ProtobufEncoder"), ..Defaults::NONE },
};
