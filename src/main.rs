//! The `sandpiper` command line: parses arguments (Heka's single-dash
//! `-config=PATH` as well as `--config PATH`), sets up logging and runs the
//! daemon or a tool.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc: the pipeline and the Lua states allocate many small, short-lived
/// objects (captures, field tables); it is markedly faster than glibc's malloc
/// for that pattern (see BENCHMARKS.md). Built without transparent huge
/// pages, which otherwise inflate the resident size of its arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use sandpiper::tools;

#[derive(Parser)]
#[command(
    name = "sandpiper",
    about = "A Heka-style data processor with sandboxed Lua.",
    disable_version_flag = true
)]
struct Cli {
    /// Configuration file or directory of *.toml files.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration and print the plugin graph.
    Check {
        /// Configuration file or directory.
        #[arg(long)]
        config: PathBuf,
    },
    /// Reload a running daemon's configuration (SIGHUP to its pid_file).
    Reload {
        /// Configuration file or directory.
        #[arg(long)]
        config: PathBuf,
    },
    /// Read a Heka-framed protobuf file (like heka-cat).
    Cat {
        /// The file to read.
        file: PathBuf,
        /// Message matcher expression.
        #[arg(long = "match", default_value = "TRUE")]
        matcher: String,
        /// Output format: txt, json, heka or count.
        #[arg(long, default_value = "txt")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Keep reading at end of file.
        #[arg(long)]
        tail: bool,
        /// Start at this byte offset.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Largest message accepted, in bytes.
        #[arg(long = "max-message-size", default_value_t = 4 * 1024 * 1024)]
        max_message_size: usize,
    },
    /// Send one message to a TcpInput (like heka-inject).
    Inject {
        /// Address of the TcpInput.
        #[arg(long, default_value = "127.0.0.1:5565")]
        heka: String,
        /// Message Type.
        #[arg(long = "type", default_value = "inject.message")]
        msg_type: String,
        /// Message Logger.
        #[arg(long, default_value = "Inject Client")]
        logger: String,
        /// Message Severity.
        #[arg(long, default_value_t = 7)]
        severity: i32,
        /// Message Payload.
        #[arg(long, default_value = "")]
        payload: String,
        /// Message Pid (default: our pid).
        #[arg(long)]
        pid: Option<i32>,
        /// Message Hostname (default: this host).
        #[arg(long)]
        hostname: Option<String>,
    },
    /// Load, unload or reload a sandbox filter of a running daemon through
    /// its SandboxManagerFilter (like heka-sbmgr).
    Sbmgr {
        /// sbmgr.toml: ip_address and [signer] name/hmac_hash/hmac_key/version.
        #[arg(long, default_value = "sbmgr.toml")]
        config: PathBuf,
        /// load, unload or reload.
        #[arg(long)]
        action: String,
        /// The Lua script (load, reload).
        #[arg(long)]
        script: Option<PathBuf>,
        /// The filter's TOML section (load; optional for reload).
        #[arg(long)]
        scriptconfig: Option<PathBuf>,
        /// The filter's section name (unload, reload).
        #[arg(long)]
        filtername: Option<String>,
    },
    /// Send one message at a steady rate to a TcpInput (benchmarks).
    #[command(hide = true)]
    Flood {
        /// Address of the TcpInput.
        #[arg(long, default_value = "127.0.0.1:5565")]
        heka: String,
        /// Messages per second.
        #[arg(long, default_value_t = 100_000)]
        rate: u64,
        /// Seconds to run.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Message Type.
        #[arg(long = "type", default_value = "flood")]
        msg_type: String,
        /// Payload bytes per message.
        #[arg(long = "payload-size", default_value_t = 100)]
        payload_size: usize,
    },
    /// Run one decoder, filter or encoder script on sample input and print
    /// what it emits (see `sandpiper::tools::test`).
    Test(TestCli),
}

#[derive(clap::Args)]
struct TestCli {
    /// The Lua script.
    script: PathBuf,
    /// Input: log lines (decoders, --decoder) or JSON messages, one a line.
    #[arg(long)]
    input: PathBuf,
    /// TOML file with the plugin's section (its first section is used).
    #[arg(long)]
    config: Option<PathBuf>,
    /// decoder, filter or encoder (default: from the script's directory).
    #[arg(long = "type")]
    kind: Option<String>,
    /// Compare the output with this file; print a diff and exit 1 if it differs.
    #[arg(long)]
    expect: Option<PathBuf>,
    /// Decode raw input lines with this decoder script first.
    #[arg(long)]
    decoder: Option<PathBuf>,
    /// TOML file with the --decoder's section.
    #[arg(long = "decoder-config")]
    decoder_config: Option<PathBuf>,
    /// Seconds between simulated timer events (overrides ticker_interval).
    #[arg(long = "ticker-interval")]
    ticker_interval: Option<u64>,
    /// Hostname stamped on input and injected messages (default localhost).
    #[arg(long)]
    hostname: Option<String>,
    /// Print only failures and the count line; the rate goes to stderr.
    #[arg(long)]
    quiet: bool,
}

impl TestCli {
    fn into_args(self) -> Result<tools::test::TestArgs, String> {
        let kind =
            match self.kind.as_deref() {
                None => None,
                Some(k) => Some(tools::test::KindArg::parse(k).ok_or_else(|| {
                    format!("--type must be decoder, filter or encoder, not '{k}'")
                })?),
            };
        Ok(tools::test::TestArgs {
            script: self.script,
            input: self.input,
            config: self.config,
            kind,
            expect: self.expect,
            decoder: self.decoder,
            decoder_config: self.decoder_config,
            ticker_interval: self.ticker_interval,
            hostname: self.hostname,
            quiet: self.quiet,
        })
    }
}

/// Turns Go-style single-dash long flags (`-config=x`, `-format json`) into
/// clap's `--config=x`.
fn normalize_args(args: impl Iterator<Item = String>) -> Vec<String> {
    args.enumerate()
        .map(|(i, a)| {
            let single_long = a.len() > 2
                && a.starts_with('-')
                && !a.starts_with("--")
                && a[1..].chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            if i > 0 && single_long { format!("-{a}") } else { a }
        })
        .collect()
}

fn main() {
    let args = normalize_args(std::env::args());
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SANDPIPER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    if cli.version {
        println!("sandpiper {} (Heka 0.11 compatible)", env!("CARGO_PKG_VERSION"));
        return;
    }
    let code = match (cli.command, cli.config) {
        (Some(Command::Check { config }), _) => tools::check::run(&config),
        (Some(Command::Reload { config }), _) => tools::run::request_reload(&config),
        (
            Some(Command::Cat { file, matcher, format, output, tail, offset, max_message_size }),
            _,
        ) => {
            let Some(format) = tools::cat::Format::parse(&format) else {
                eprintln!("unknown format '{format}' (txt, json, heka, count)");
                std::process::exit(1);
            };
            tools::cat::run(&tools::cat::CatArgs {
                file,
                matcher,
                format,
                output,
                tail,
                offset,
                max_message_size,
            })
        }
        (Some(Command::Inject { heka, msg_type, logger, severity, payload, pid, hostname }), _) => {
            let hostname = hostname.unwrap_or_else(sandpiper::config::os_hostname);
            let pid = pid.unwrap_or(std::process::id() as i32);
            tools::inject::run(&tools::inject::InjectArgs {
                heka,
                msg_type,
                logger,
                severity,
                payload,
                pid,
                hostname,
            })
        }
        (Some(Command::Sbmgr { config, action, script, scriptconfig, filtername }), _) => {
            tools::sbmgr::run(&tools::sbmgr::SbmgrArgs {
                config,
                action,
                script,
                scriptconfig,
                filtername,
            })
        }
        (Some(Command::Flood { heka, rate, duration, msg_type, payload_size }), _) => {
            tools::flood::run(&tools::flood::FloodArgs {
                heka,
                rate,
                duration,
                msg_type,
                payload_size,
            })
        }
        (Some(Command::Test(test)), _) => match test.into_args() {
            Ok(args) => tools::test::run(&args),
            Err(e) => {
                eprintln!("sandpiper test: {e}");
                2
            }
        },
        (None, Some(config)) => tools::run::run(&config),
        (None, None) => {
            eprintln!(
                "usage: sandpiper -config=PATH | sandpiper <check|cat|inject|sbmgr|test> ... (see --help)"
            );
            1
        }
    };
    std::process::exit(code);
}
