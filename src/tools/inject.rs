//! `sandpiper inject`: sends one message over TCP in Heka framing, like
//! heka-inject.

use std::io::Write;
use std::net::TcpStream;

use super::ExitCode;
use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, Message, encode, write_framed};

/// What to send.
#[derive(Debug, Clone)]
pub struct InjectArgs {
    /// host:port of a TcpInput.
    pub heka: String,
    /// Message Type.
    pub msg_type: String,
    /// Logger.
    pub logger: String,
    /// Severity.
    pub severity: i32,
    /// Payload.
    pub payload: String,
    /// Pid.
    pub pid: i32,
    /// Hostname.
    pub hostname: String,
}

/// Builds the message heka-inject would send.
pub fn message(args: &InjectArgs) -> Message {
    let mut m = Message::new();
    m.msg_type = args.msg_type.as_bytes().to_vec();
    m.logger = args.logger.as_bytes().to_vec();
    m.severity = Some(args.severity);
    m.payload = args.payload.as_bytes().to_vec();
    m.pid = Some(args.pid);
    m.hostname = args.hostname.as_bytes().to_vec();
    m
}

/// Runs `inject`.
pub fn run(args: &InjectArgs) -> ExitCode {
    let mut framed = Vec::new();
    if let Err(e) =
        write_framed(&encode(&message(args)), None, DEFAULT_MAX_MESSAGE_SIZE, &mut framed)
    {
        eprintln!("Error encoding message: {e}");
        return 1;
    }
    let sent = TcpStream::connect(&args.heka).and_then(|mut s| {
        s.write_all(&framed)?;
        s.flush()
    });
    match sent {
        Ok(()) => {
            println!("Message sent to {}", args.heka);
            0
        }
        Err(e) => {
            eprintln!("Error sending message to {}: {e}", args.heka);
            1
        }
    }
}
