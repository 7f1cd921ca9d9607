//! `LogOutput`: writes each encoded message to standard output, prefixed
//! as Go's log package does under `[hekad] log_flags` (default 3: date and
//! time), with a newline added when the output lacks one.

use std::io::Write;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::PackRef;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Encoded, Output, OutputContext, OutputFactory, PluginError};

/// `LogOutput` has no options of its own (it takes `encoder`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogOutputConfig {}

/// Go log flag bits.
const LDATE: u32 = 1;
const LTIME: u32 = 2;
const LMICROSECONDS: u32 = 4;
const LUTC: u32 = 32;

/// The output.
pub struct LogOutput {
    flags: u32,
    out: std::io::BufWriter<std::io::Stdout>,
    scratch: Vec<u8>,
}

/// The prefix Go's log package writes for `flags` at the current time.
pub fn go_log_prefix(flags: u32) -> String {
    if flags & (LDATE | LTIME | LMICROSECONDS) == 0 {
        return String::new();
    }
    let now = jiff::ZonedDateTime::now();
    let now = if flags & LUTC != 0 { now.with_time_zone(jiff::tz::TimeZone::UTC) } else { now };
    let mut s = String::new();
    if flags & LDATE != 0 {
        s.push_str(&now.strftime("%Y/%m/%d ").to_string());
    }
    if flags & (LTIME | LMICROSECONDS) != 0 {
        s.push_str(&now.strftime("%H:%M:%S").to_string());
        if flags & LMICROSECONDS != 0 {
            s.push_str(&format!(".{:06}", now.subsec_nanosecond() / 1000));
        }
        s.push(' ');
    }
    s
}

impl Output for LogOutput {
    fn process_message(
        &mut self,
        pack: &PackRef,
        cx: &mut OutputContext<'_>,
    ) -> Result<(), PluginError> {
        self.scratch.clear();
        if cx.has_encoder() {
            if cx.encode(pack, &mut self.scratch)? == Encoded::Nothing {
                return Ok(());
            }
        } else {
            self.scratch.extend_from_slice(&pack.message.payload);
        }
        let prefix = go_log_prefix(self.flags);
        let w = |e| PluginError::io("writing to stdout", e);
        self.out.write_all(prefix.as_bytes()).map_err(w)?;
        self.out.write_all(&self.scratch).map_err(w)?;
        if self.scratch.last() != Some(&b'\n') {
            self.out.write_all(b"\n").map_err(w)?;
        }
        Ok(())
    }

    fn poll(&mut self, _cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        self.out.flush().map_err(|e| PluginError::io("flushing stdout", e))
    }

    fn stop(&mut self, _cx: &mut OutputContext<'_>) {
        let _ = self.out.flush();
    }
}

struct Factory {
    flags: u32,
}

impl OutputFactory for Factory {
    fn build(&self) -> Result<Box<dyn Output>, PluginError> {
        Ok(Box::new(LogOutput {
            flags: self.flags,
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
            scratch: Vec::new(),
        }))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let _: LogOutputConfig = cx.config()?;
    Ok(Built::Output(Box::new(Factory { flags: cx.hekad.log_flags })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "LogOutput",
    category: Category::Output,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_follows_go_log_flags() {
        assert_eq!(go_log_prefix(0), "");
        let p = go_log_prefix(LDATE | LTIME);
        // "2024/01/15 00:00:00 "
        assert_eq!(p.len(), 20, "{p:?}");
        assert_eq!(&p[4..5], "/");
        let micro = go_log_prefix(LTIME | LMICROSECONDS);
        assert_eq!(micro.len(), 16, "{micro:?}");
    }
}
