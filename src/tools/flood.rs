//! `sandpiper flood` (hidden): a paced load generator for benchmarks, in
//! the spirit of heka-flood. It sends one framed protobuf message over and
//! over to a TcpInput at a steady rate (the count due by now is computed
//! from the elapsed time, so short stalls are caught up) and prints the
//! total sent.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::ExitCode;
use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, Message, encode, write_framed};

/// What to send.
#[derive(Debug, Clone)]
pub struct FloodArgs {
    /// host:port of a TcpInput.
    pub heka: String,
    /// Messages per second.
    pub rate: u64,
    /// Seconds to run.
    pub duration: f64,
    /// Message Type.
    pub msg_type: String,
    /// Payload bytes per message.
    pub payload_size: usize,
}

/// Records written per write call at most.
const CHUNK: usize = 256;

/// `CHUNK` framed copies of the message.
fn records(args: &FloodArgs) -> Result<(Vec<u8>, usize), String> {
    let mut m = Message::new();
    m.msg_type = args.msg_type.as_bytes().to_vec();
    m.logger = b"flood".to_vec();
    m.payload = vec![b'x'; args.payload_size];
    let bytes = encode(&m);
    let mut one = Vec::new();
    write_framed(&bytes, None, DEFAULT_MAX_MESSAGE_SIZE, &mut one).map_err(|e| e.to_string())?;
    Ok((one.repeat(CHUNK), one.len()))
}

/// Messages due after `elapsed` at `rate` per second.
fn due(rate: u64, elapsed: Duration) -> u64 {
    (u128::from(rate) * elapsed.as_nanos() / 1_000_000_000) as u64
}

fn flood(args: &FloodArgs) -> Result<u64, String> {
    let (chunk, len) = records(args)?;
    let mut s = TcpStream::connect(&args.heka).map_err(|e| format!("{}: {e}", args.heka))?;
    let _ = s.set_nodelay(true);
    let run_for = Duration::from_secs_f64(args.duration.max(0.0));
    let start = Instant::now();
    let mut sent = 0u64;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= run_for {
            break;
        }
        let behind = due(args.rate, elapsed).saturating_sub(sent);
        if behind == 0 {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        let n = behind.min(CHUNK as u64) as usize;
        s.write_all(&chunk[..n * len]).map_err(|e| format!("sending: {e}"))?;
        sent += n as u64;
    }
    s.flush().map_err(|e| format!("sending: {e}"))?;
    Ok(sent)
}

/// Runs `flood`.
pub fn run(args: &FloodArgs) -> ExitCode {
    let start = Instant::now();
    match flood(args) {
        Ok(sent) => {
            let secs = start.elapsed().as_secs_f64();
            println!("sent {sent} messages in {secs:.2} s ({:.0} msg/s)", sent as f64 / secs);
            0
        }
        Err(e) => {
            eprintln!("sandpiper flood: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn sends_the_rate_times_the_duration() {
        assert_eq!(due(100_000, Duration::from_millis(1500)), 150_000);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let args = FloodArgs {
            heka: listener.local_addr().unwrap().to_string(),
            rate: 20_000,
            duration: 0.25,
            msg_type: "bench".into(),
            payload_size: 10,
        };
        let (_, len) = records(&args).unwrap();
        let reader = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut all = Vec::new();
            c.read_to_end(&mut all).unwrap();
            all.len()
        });
        let sent = flood(&args).unwrap();
        assert!((4_000..=5_000).contains(&sent), "{sent}");
        assert_eq!(reader.join().unwrap(), sent as usize * len);
    }
}
