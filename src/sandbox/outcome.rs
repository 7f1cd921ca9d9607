//! What entry-point calls return (Heka §4.2 status codes).

/// The status a script's `process_message` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessStatus {
    /// `0`: success.
    Ok,
    /// `< 0`: a non-fatal failure (counted in `ProcessMessageFailures`); the
    /// optional second return value explains it.
    Failed {
        /// The status code.
        status: i32,
        /// The script's error string, if any.
        message: Option<String>,
    },
    /// `> 0`: fatal; the plugin should stop. The Lua state stays alive, so a
    /// clean [`stop`](super::Sandbox::stop) still preserves data.
    Fatal {
        /// The status code.
        status: i32,
        /// The script's error string, if any.
        message: Option<String>,
    },
}

impl ProcessStatus {
    /// Classifies a status code.
    pub(crate) fn from_code(status: i32, message: Option<String>) -> Self {
        match status {
            0 => ProcessStatus::Ok,
            s if s < 0 => ProcessStatus::Failed { status, message },
            _ => ProcessStatus::Fatal { status, message },
        }
    }
}

/// How a decoder call ended; the packs to forward are in the caller's
/// `out` vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeOutcome {
    /// Status 0 and nothing injected: `out` got the original pack (changed
    /// by `write_message`, if the script did).
    Forwarded,
    /// Status 0: `out` got this many injected packs in order; the first one
    /// is the original pack, refilled.
    Injected(usize),
    /// Status < 0: every pack was dropped. `message` is Heka's
    /// `Failed parsing: <error> payload: <payload>` text.
    Failed {
        /// The status code.
        status: i32,
        /// The text to log.
        message: String,
    },
    /// Status > 0: fatal (Heka shut down the whole process); packs dropped.
    Fatal {
        /// The status code.
        status: i32,
        /// The script's error string ("" when none).
        message: String,
    },
}

/// How an encoder call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeOutcome {
    /// Status 0: `out` holds the bytes to send (the last `inject_payload`
    /// payload, the last `inject_message` protobuf, or else the protobuf of
    /// the message, as changed by `write_message`).
    Output,
    /// Status -2: nothing to send, not an error.
    Skip,
    /// Another status < 0: failed serializing (counted as a failure).
    Failed {
        /// The status code.
        status: i32,
        /// The script's error string, if any.
        message: Option<String>,
    },
    /// Status > 0: fatal.
    Fatal {
        /// The status code.
        status: i32,
        /// The script's error string, if any.
        message: Option<String>,
    },
}
