//! `shard-broker`: a standalone Kafka-compatible broker.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use shard_broker::config::BrokerConfig;
use tokio_util::sync::CancellationToken;

/// Shard: a standalone Kafka-compatible broker. Point Kafka clients at `listeners`.
#[derive(Debug, Parser)]
#[command(name = "shard-broker", version, about, long_about = None)]
struct Args {
    /// Path to broker.toml (see config/broker.toml for every key and its default). Without it,
    /// the broker listens on 127.0.0.1:9092 and keeps data under ./data.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match &args.config {
        Some(path) => BrokerConfig::load(path),
        None => Ok(BrokerConfig::default()),
    };
    let config = match config {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("shard-broker: {e}");
            return ExitCode::from(2);
        }
    };
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
