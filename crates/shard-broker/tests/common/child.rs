//! The real `shard-broker` binary as a child process (for kill -9, restarts and memory checks).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary on a fixed port and data directory, killed on drop.
pub struct ChildBroker {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ChildBroker {
    /// Starts the binary with `extra` config on `dir` (data in `dir/data`) and waits until it
    /// accepts connections.
    pub async fn start(dir: &Path, port: u16, extra: &str) -> ChildBroker {
        Self::start_with(dir, port, extra, |_| {}).await
    }

    /// Like [`Self::start`], letting `configure` adjust the command first (e.g. a `pre_exec`
    /// that lowers a resource limit).
    pub async fn start_with(dir: &Path, port: u16, extra: &str, configure: impl FnOnce(&mut Command)) -> ChildBroker {
        let config = dir.join("broker-test.toml");
        let text = format!(
            "listeners = \"127.0.0.1:{port}\"\nlog.dir = \"{}\"\n{extra}",
            dir.join("data").display()
        );
        std::fs::write(&config, text).expect("write config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_shard-broker"));
        command
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        configure(&mut command);
        let child = command.spawn().expect("spawn shard-broker");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "shard-broker did not start listening on {addr}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ChildBroker { child, addr }
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Peak resident set size so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmHWM")
            * 1024
    }
}

impl Drop for ChildBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A [`ChildBroker`] on a free port and its own temporary data directory (removed on drop).
pub struct TempChildBroker {
    /// The process.
    pub child: ChildBroker,
    /// Where it listens.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl TempChildBroker {
    /// Starts the binary with `extra` config.
    pub async fn start(extra: &str) -> TempChildBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = ChildBroker::start(dir.path(), free_port(), extra).await;
        TempChildBroker {
            addr: child.addr,
            child,
            _dir: dir,
        }
    }
}
