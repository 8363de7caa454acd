//! `shard-broker`: a standalone Kafka-compatible broker.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use shard_broker::config::{BrokerConfig, env};
use tokio_util::sync::CancellationToken;

/// Shard: a standalone Kafka-compatible broker. Point Kafka clients at `listeners`.
///
/// Without a subcommand, runs the broker. Every setting of broker.toml can also be set by an
/// environment variable: SHARD_ + the key upper-cased with `.` and `-` as `_` (listeners ->
/// SHARD_LISTENERS, log.dir -> SHARD_LOG_DIR); the environment overrides the file, which
/// overrides the defaults.
#[derive(Debug, Parser)]
#[command(name = "shard-broker", version, about, long_about)]
struct Args {
    /// Path to broker.toml (see config/broker.toml for every key and its default). Without it,
    /// the broker listens on 127.0.0.1:9092 and keeps data under ./data (unless SHARD_*
    /// variables say otherwise).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks that a broker answers a Kafka ApiVersions request, for container HEALTHCHECKs.
    ///
    /// Prints one line (`ok: ...` or `unhealthy: ...`) and exits 0 if healthy, 1 if not, 2 on
    /// bad arguments or configuration. Without --address, checks the listen address of the
    /// effective configuration (--config file and SHARD_* variables, as the broker reads them),
    /// with 0.0.0.0 / :: replaced by loopback.
    Health {
        /// Path to broker.toml, to find the listen address.
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to check instead of the configured one.
        #[arg(long, value_name = "HOST:PORT")]
        address: Option<String>,
        /// Time limit for the whole check (connect, request, response), in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
        timeout_ms: u64,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The health check's output is its one result line; broker logs only for problems.
    let default_level = if args.command.is_some() { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Some(Command::Health {
        config,
        address,
        timeout_ms,
    }) = args.command
    {
        let config = config.or(args.config);
        return ExitCode::from(shard_broker::health::run(
            config.as_deref(),
            address.as_deref(),
            Duration::from_millis(timeout_ms),
            env::process_env(),
        ));
    }
    let config = match BrokerConfig::load_with_env(args.config.as_deref(), env::process_env()) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("shard-broker: {e}");
            return ExitCode::from(2);
        }
    };
    // Every partition segment holds three files open: take all the descriptors the system allows
    // (the topic registry then refuses partitions before they would run out).
    shard_broker::fd_limit::raise_to_hard_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shard-broker: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(wait_for_signal(shutdown.clone()));
        let served = match shard_broker::server::Server::bind(config).await {
            Ok(server) => server.run(shutdown).await,
            Err(e) => Err(e),
        };
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.cancel();
}
