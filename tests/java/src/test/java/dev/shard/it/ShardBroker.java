package dev.shard.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;

/**
 * Test fixture: one broker process on a free loopback port with a fresh temporary data directory.
 *
 * <p>By default it runs the Shard release binary. The binary is taken from the system property
 * {@code shard.broker.bin}, else the environment variable {@code SHARD_BROKER_BIN}, else
 * {@code ../../target/release/shard-broker} relative to the working directory (tests/java).
 *
 * <p>With {@code -Dshard.test.broker=kafka} (or env {@code SHARD_TEST_BROKER=kafka}) the same tests run
 * against the Apache Kafka reference broker (KRaft, single node) instead, started from the jars in
 * {@code shard.kafka.lib} / {@code SHARD_KAFKA_LIB} (default {@code ../../benches/work/kafka-lib},
 * filled by {@code benches/producer-perf.sh --kafka-only --records 1} or by
 * {@code mvn -f benches/kafka-ref/pom.xml dependency:copy-dependencies}). This is how the harness
 * itself is validated: every assertion must hold for Apache Kafka.
 *
 * <p>The broker's stdout+stderr go to {@code target/broker-logs/<name>-<n>.log}. Always close it
 * (try-with-resources or {@code @AfterEach}); a JVM shutdown hook kills a leftover process too.
 */
public final class ShardBroker implements AutoCloseable {

    public enum Flavor { SHARD, KAFKA }

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(
            Long.getLong("shard.test.ready.timeout.s", 30));

    private final String name;
    private final Flavor flavor;
    private final Map<String, Object> overrides;
    private final Path dataDir;
    private final Path configFile;
    private final Path logFile;
    private final int port;
    private final int controllerPort; // Kafka flavor only
    private Process process;
    private final Thread shutdownHook;
    private boolean closed;

    private ShardBroker(String name, Map<String, Object> overrides) throws Exception {
        this.name = name.replaceAll("[^A-Za-z0-9_.-]", "_");
        this.flavor = flavor();
        this.overrides = new LinkedHashMap<>(overrides);
        this.dataDir = Files.createTempDirectory("shard-it-" + this.name + "-");
        Path logDir = Paths.get(System.getProperty("shard.test.logdir", "target/broker-logs"));
        Files.createDirectories(logDir);
        this.logFile = logDir.resolve(this.name + "-" + COUNTER.incrementAndGet() + ".log").toAbsolutePath();
        Files.deleteIfExists(logFile);
        this.port = freePort();
        this.controllerPort = flavor == Flavor.KAFKA ? freePort() : -1;
        this.configFile = dataDir.resolve(flavor == Flavor.KAFKA ? "server.properties" : "broker.toml");
        Path logs = dataDir.resolve("data");
        Files.createDirectories(logs);
        writeConfig(logs);
        this.shutdownHook = new Thread(() -> {
            Process p = process;
            if (p != null) {
                p.destroyForcibly();
            }
        }, "shard-broker-kill-" + this.name);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts a broker with default settings and waits until it is ready. */
    public static ShardBroker start(String name) throws Exception {
        return start(name, Map.of());
    }

    /**
     * Starts a broker with extra config entries (Kafka names, e.g. {@code num.partitions}); String values
     * are quoted in TOML, numbers and booleans are not. Shard-only keys ({@code log.flush.*}) are skipped
     * for the Kafka flavor.
     */
    public static ShardBroker start(String name, Map<String, Object> overrides) throws Exception {
        ShardBroker b = new ShardBroker(name, overrides);
        try {
            b.launch();
        } catch (Throwable t) {
            b.close();
            throw t;
        }
        return b;
    }

    public static Flavor flavor() {
        String f = firstNonEmpty(System.getProperty("shard.test.broker"), System.getenv("SHARD_TEST_BROKER"), "shard");
        return f.equalsIgnoreCase("kafka") ? Flavor.KAFKA : Flavor.SHARD;
    }

    public String bootstrap() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Admin client properties for this broker. */
    public Properties adminProps() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return p;
    }

    public Admin admin() {
        return Admin.create(adminProps());
    }

    /** SIGKILL (Process.destroyForcibly is SIGKILL on Linux) and wait for the process to be gone. */
    public void kill9() throws InterruptedException {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("broker did not die after SIGKILL");
        }
        process = null;
    }

    /** SIGTERM, then wait up to 30 s for a graceful exit (then SIGKILL). Returns the exit code. */
    public int stop() throws InterruptedException {
        Process p = process;
        if (p == null) {
            return 0;
        }
        p.destroy(); // SIGTERM
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
            process = null;
            throw new IllegalStateException("broker did not exit within 30 s of SIGTERM; killed. Log: " + logFile);
        }
        process = null;
        return p.exitValue();
    }

    /** Starts the broker again on the same port with the same data directory and waits until ready. */
    public void restart() throws Exception {
        if (isAlive()) {
            stop();
        }
        launch();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (isAlive()) {
                try {
                    stop();
                } catch (Exception e) {
                    Process p = process;
                    if (p != null) {
                        p.destroyForcibly();
                    }
                }
            }
        } finally {
            process = null;
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // JVM is shutting down
            }
            if (!Boolean.getBoolean("shard.test.keep.data")) {
                deleteRecursively(dataDir);
            }
        }
    }

    /** Last lines of the broker log, for failure messages. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no log: " + e + ")";
        }
    }

    // ------------------------------------------------------------------------------------------

    private void launch() throws Exception {
        List<String> cmd = new ArrayList<>();
        if (flavor == Flavor.SHARD) {
            Path bin = shardBinary();
            if (!Files.isExecutable(bin)) {
                throw new IllegalStateException("Shard broker binary not found or not executable: " + bin
                        + " (build it with: cargo build --release -p shard-broker, or set SHARD_BROKER_BIN)");
            }
            cmd.add(bin.toString());
            cmd.add("--config");
            cmd.add(configFile.toString());
        } else {
            cmd.addAll(javaCmd());
            cmd.add("kafka.Kafka");
            cmd.add(configFile.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(dataDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        pb.environment().putIfAbsent("RUST_BACKTRACE", "1");
        Files.writeString(logFile, "=== " + Instant.now() + " starting: " + String.join(" ", cmd) + "\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        process = pb.start();
        waitReady();
    }

    private void waitReady() throws Exception {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        // 1. TCP accept
        while (true) {
            checkAlive();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                break;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("broker did not accept connections on " + bootstrap()
                            + " within " + READY_TIMEOUT + "; log " + logFile + ":\n" + logTail(40));
                }
                Thread.sleep(50);
            }
        }
        // 2. Admin describeCluster answers with our node
        Properties p = adminProps();
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
        Exception last = null;
        try (Admin admin = Admin.create(p)) {
            while (System.nanoTime() < deadline) {
                checkAlive();
                try {
                    var nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(5000))
                            .nodes().get(6, TimeUnit.SECONDS);
                    if (!nodes.isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    last = e;
                }
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("broker on " + bootstrap() + " accepted TCP but describeCluster did not succeed within "
                + READY_TIMEOUT + " (last error: " + last + "); log " + logFile + ":\n" + logTail(40));
    }

    private void checkAlive() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            throw new IllegalStateException("broker process exited during start-up (exit code "
                    + (p == null ? "?" : p.exitValue()) + "); log " + logFile + ":\n" + logTail(40));
        }
    }

    private void writeConfig(Path logs) throws Exception {
        if (flavor == Flavor.SHARD) {
            StringBuilder sb = new StringBuilder();
            sb.append("# written by ShardBroker test fixture\n");
            sb.append("listeners = \"127.0.0.1:").append(port).append("\"\n");
            sb.append("node.id = 1\n");
            sb.append("log.dir = ").append(tomlString(logs.toString())).append('\n');
            sb.append("num.partitions = 1\n");
            for (Map.Entry<String, Object> e : overrides.entrySet()) {
                Object v = e.getValue();
                String val = (v instanceof Number || v instanceof Boolean) ? v.toString() : tomlString(v.toString());
                sb.append(e.getKey()).append(" = ").append(val).append('\n');
            }
            Files.writeString(configFile, sb.toString(), StandardCharsets.UTF_8);
        } else {
            StringBuilder sb = new StringBuilder();
            sb.append("process.roles=broker,controller\n");
            sb.append("node.id=1\n");
            sb.append("controller.quorum.bootstrap.servers=127.0.0.1:").append(controllerPort).append('\n');
            sb.append("listeners=PLAINTEXT://127.0.0.1:").append(port)
                    .append(",CONTROLLER://127.0.0.1:").append(controllerPort).append('\n');
            sb.append("advertised.listeners=PLAINTEXT://127.0.0.1:").append(port)
                    .append(",CONTROLLER://127.0.0.1:").append(controllerPort).append('\n');
            sb.append("controller.listener.names=CONTROLLER\n");
            sb.append("inter.broker.listener.name=PLAINTEXT\n");
            sb.append("listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n");
            sb.append("log.dirs=").append(logs).append('\n');
            sb.append("num.partitions=1\n");
            sb.append("offsets.topic.replication.factor=1\n");
            sb.append("offsets.topic.num.partitions=1\n");
            sb.append("share.coordinator.state.topic.replication.factor=1\n");
            sb.append("share.coordinator.state.topic.min.isr=1\n");
            sb.append("transaction.state.log.replication.factor=1\n");
            sb.append("transaction.state.log.min.isr=1\n");
            sb.append("group.initial.rebalance.delay.ms=0\n");
            for (Map.Entry<String, Object> e : overrides.entrySet()) {
                if (e.getKey().startsWith("log.flush.mode")) {
                    continue;
                }
                sb.append(e.getKey()).append('=').append(e.getValue()).append('\n');
            }
            Files.writeString(configFile, sb.toString(), StandardCharsets.UTF_8);
            // format storage (StorageTool) before the first start
            List<String> cmd = new ArrayList<>(javaCmd());
            cmd.addAll(List.of("kafka.tools.StorageTool", "format", "--standalone",
                    "-t", Uuid.randomUuid().toString(), "-c", configFile.toString()));
            Process fmt = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
            if (!fmt.waitFor(60, TimeUnit.SECONDS) || fmt.exitValue() != 0) {
                fmt.destroyForcibly();
                throw new IllegalStateException("kafka storage format failed; log " + logFile + ":\n" + logTail(30));
            }
        }
    }

    private static List<String> javaCmd() {
        Path lib = Paths.get(firstNonEmpty(System.getProperty("shard.kafka.lib"), System.getenv("SHARD_KAFKA_LIB"),
                "../../benches/work/kafka-lib")).toAbsolutePath().normalize();
        if (!Files.isDirectory(lib)) {
            throw new IllegalStateException("Kafka jars not found in " + lib
                    + " (run: benches/producer-perf.sh --kafka-only --records 1000, or set SHARD_KAFKA_LIB)");
        }
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        return List.of(java, "-Xmx1G", "-XX:+UseG1GC", "-Duser.language=en", "-Duser.country=US",
                "-Dkafka.logs.dir=" + lib.getParent().resolve("kafka-logs"),
                "-cp", lib + "/*");
    }

    private static Path shardBinary() {
        String p = firstNonEmpty(System.getProperty("shard.broker.bin"), System.getenv("SHARD_BROKER_BIN"),
                "../../target/release/shard-broker");
        return Paths.get(p).toAbsolutePath().normalize();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    private static String tomlString(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String firstNonEmpty(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override
    public String toString() {
        return flavor + " broker " + bootstrap() + " (data " + dataDir + ", log " + logFile + ")";
    }
}
