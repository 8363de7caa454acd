//! The real binary: `shard-broker health` against a broker, a closed port and peers that do not
//! speak Kafka; and a broker configured only through `SHARD_*` environment variables.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TestBroker;

const BIN: &str = env!("CARGO_BIN_EXE_shard-broker");

/// `shard-broker health <args>` with `env` added to the environment.
fn health(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let start = Instant::now();
    let output = Command::new(BIN)
        .arg("health")
        .args(args)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run shard-broker health");
    (output, start.elapsed())
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_a_running_broker_as_ok() {
    let broker = TestBroker::start("").await;
    let addr = broker.addr.to_string();
    let (output, _) = tokio::task::spawn_blocking(move || health(&["--address", &addr], &[]))
        .await
        .expect("join");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text} {}", String::from_utf8_lossy(&output.stderr));
    assert!(text.starts_with(&format!("ok: {} answered ApiVersions in ", broker.addr)), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");

    // Without --address: the listen address of the config file, 0.0.0.0 taken as loopback.
    let config = broker.dir.path().join("health.toml");
    std::fs::write(&config, format!("listeners = \"0.0.0.0:{}\"\n", broker.addr.port())).expect("write config");
    let config = config.display().to_string();
    let (output, _) = tokio::task::spawn_blocking(move || health(&["--config", &config], &[]))
        .await
        .expect("join");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.starts_with(&format!("ok: 127.0.0.1:{} ", broker.addr.port())), "{text}");

    // ... and SHARD_LISTENERS overrides it.
    let port = broker.addr.port();
    let (output, _) = tokio::task::spawn_blocking(move || health(&[], &[("SHARD_LISTENERS", &format!("127.0.0.1:{port}"))]))
        .await
        .expect("join");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    broker.stop().await;
}

const KAFKA_STORAGE_ERROR: i16 = 56;

/// Produces one batch to `topic`-0; returns the partition's error code.
async fn produce_code(c: &mut common::RawClient, topic: &str) -> i16 {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default()
            .with_name(common::share::name(topic))
            .with_partition_data(vec![
                PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(common::share::one_batch(2))),
            ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    resp.responses[0].partition_responses[0].error_code
}

async fn describe_log_dirs(
    c: &mut common::RawClient,
    topics: Option<Vec<kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic>>,
) -> kafka_protocol::messages::DescribeLogDirsResponse {
    use kafka_protocol::messages::{ApiKey, DescribeLogDirsRequest};
    c.call(ApiKey::DescribeLogDirs, 4, &DescribeLogDirsRequest::default().with_topics(topics))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_takes_the_log_dir_offline_and_health_reports_it() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    common::share::create_topic(&mut c, "failing", 1).await;
    common::share::create_topic(&mut c, "bystander", 1).await;
    assert_eq!(produce_code(&mut c, "failing").await, 0);
    assert_eq!(produce_code(&mut c, "bystander").await, 0);
    let all = describe_log_dirs(&mut c, None).await;
    assert_eq!(all.results.len(), 1);
    assert_eq!(all.results[0].error_code, 0);
    let mut names: Vec<String> = all.results[0].topics.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["bystander", "failing"]);
    assert!(all.results[0].topics.iter().all(|t| t.partitions[0].partition_size > 0));
    assert!(all.results[0].total_bytes > 0 && all.results[0].usable_bytes > 0);
    let addr = broker.addr.to_string();
    let (output, _) = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || health(&["--address", &addr], &[]))
            .await
            .expect("join")
    };
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("log directories online"), "{}", stdout(&output));

    // The disk fails one fsync of one partition: the whole log dir goes offline.
    let failing = broker.broker.topics.get("failing").expect("topic").partition(0).expect("partition");
    failing.inject_fsync_failure();
    assert_eq!(produce_code(&mut c, "failing").await, KAFKA_STORAGE_ERROR);
    assert_eq!(
        produce_code(&mut c, "bystander").await,
        KAFKA_STORAGE_ERROR,
        "every partition in the dir"
    );
    assert_eq!(produce_code(&mut c, "failing").await, KAFKA_STORAGE_ERROR);
    let health_state = broker.broker.topics.log_dir_health();
    assert!(health_state.is_offline());
    let reason = health_state.offline_reason().expect("reason");
    assert!(reason.contains("fsync failed") && reason.contains("failing-0"), "{reason}");
    let offline = describe_log_dirs(&mut c, Some(Vec::new())).await;
    assert_eq!(offline.results[0].error_code, KAFKA_STORAGE_ERROR);
    assert!(offline.results[0].topics.is_empty());

    let (output, _) = tokio::task::spawn_blocking(move || health(&["--address", &addr], &[]))
        .await
        .expect("join");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("unhealthy: ") && text.contains("is offline (error code 56)"),
        "{text}"
    );
    broker.stop().await;
}

#[test]
fn health_reports_a_closed_port_as_unhealthy() {
    let port = free_port();
    let (output, _) = health(&["--address", &format!("127.0.0.1:{port}")], &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.starts_with("unhealthy: "), "{text}");
}

/// Accepts connections on a loopback port and hands each to `serve` on its own thread.
fn fake_server(serve: fn(std::net::TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    addr
}

#[test]
fn health_reports_a_peer_sending_garbage_as_unhealthy() {
    let addr = fake_server(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        std::thread::sleep(Duration::from_secs(10));
    });
    let (output, elapsed) = health(&["--address", &addr.to_string(), "--timeout-ms", "2000"], &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.starts_with("unhealthy: ") && text.contains("bad response"), "{text}");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");

    // A well-formed frame with a wrong correlation id.
    let addr = fake_server(|mut stream| {
        let _ = stream.write_all(&[0, 0, 0, 6, 0, 0, 0, 9, 0, 0]);
        std::thread::sleep(Duration::from_secs(10));
    });
    let (output, _) = health(&["--address", &addr.to_string(), "--timeout-ms", "2000"], &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("correlation id 9"), "{text}");
}

#[test]
fn health_gives_up_on_a_silent_peer_within_the_timeout() {
    let addr = fake_server(|stream| {
        std::thread::sleep(Duration::from_secs(10));
        drop(stream);
    });
    let (output, elapsed) = health(&["--address", &addr.to_string(), "--timeout-ms", "500"], &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.starts_with("unhealthy: ") && text.contains("within 500 ms"), "{text}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn health_refuses_bad_arguments_with_status_2() {
    let (output, _) = health(&["--timeout-ms", "soon"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let (output, _) = health(&[], &[("SHARD_LISTENERS", "nowhere")]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("SHARD_LISTENERS"), "{text}");
}

/// Kills the broker if the test fails before it is stopped.
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn broker_configured_only_by_environment_listens_where_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let port = free_port();
    let listeners = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .current_dir(dir.path())
        .env("SHARD_LISTENERS", &listeners)
        .env("SHARD_LOG_DIR", &data)
        .env("SHARD_ADVERTISED_LISTENERS", "broker.example:19092")
        .env("SHARD_NOT_A_SETTING", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn broker");
    let mut guard = ChildGuard(Some(child));

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (output, _) = health(&["--timeout-ms", "1000"], &[("SHARD_LISTENERS", &listeners)]);
        if output.status.code() == Some(0) {
            assert!(stdout(&output).starts_with(&format!("ok: {listeners} ")), "{}", stdout(&output));
            break;
        }
        if let Some(status) = guard.0.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            panic!("broker exited early: {status}");
        }
        assert!(Instant::now() < deadline, "broker not healthy in time: {}", stdout(&output));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(data.join("meta.json").exists(), "data not under SHARD_LOG_DIR");

    let mut child = guard.0.take().expect("child");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("broker did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert!(status.success(), "{status}: {stderr}");
    // Keys from the environment are logged by name, unknown SHARD_* variables warned about.
    let line = stderr
        .lines()
        .find(|l| l.contains("settings from the environment"))
        .unwrap_or_else(|| panic!("no log of the settings from the environment: {stderr}"));
    assert!(
        line.contains("listeners (SHARD_LISTENERS)") && line.contains("log.dir (SHARD_LOG_DIR)"),
        "{line}"
    );
    assert!(!line.contains("broker.example"), "values are not logged: {line}");
    assert!(stderr.contains("SHARD_NOT_A_SETTING"), "{stderr}");
}
