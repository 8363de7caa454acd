package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.shard.it.ShardBroker;

/**
 * Runs a Kafka command-line tool (a {@code main} class from kafka-tools, as the {@code kafka-*.sh} scripts do) in a
 * child JVM with the test classpath, against a broker. A child JVM because the tools call {@code Exit.exit} and
 * print to {@code System.out}. Compiled only with the share profiles (src/test/java-tools), which add kafka-tools.
 */
final class KafkaTool {

    /** What one run printed and how it ended. */
    record Run(int exitCode, List<String> stdout, String stderr, long millis) {

        /** stdout as one string, for assertion messages. */
        String out() {
            return String.join("\n", stdout);
        }
    }

    private KafkaTool() {
    }

    /**
     * Runs {@code mainClass} with {@code --bootstrap-server <broker>} and {@code args}, waiting at most
     * {@code killAfter} (then kills it and fails the test). stdout and stderr are kept next to the broker log
     * ({@code target/broker-logs/<broker log name>-tool-<name>.stdout / .stderr}).
     */
    static Run run(ShardBroker broker, String mainClass, String name, List<String> args, Duration killAfter)
            throws Exception {
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx256m",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), mainClass,
                "--bootstrap-server", broker.bootstrap()));
        cmd.addAll(args);
        String base = broker.logFile().getFileName().toString().replaceFirst("\\.log$", "") + "-tool-" + name;
        Path out = broker.logFile().resolveSibling(base + ".stdout");
        Path err = broker.logFile().resolveSibling(base + ".stderr");
        String tool = mainClass.substring(mainClass.lastIndexOf('.') + 1);
        log("running %s %s", tool, String.join(" ", args));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(killAfter.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                fail(tool + " did not exit within " + killAfter + " (killed); stdout so far "
                        + Files.readAllLines(out, StandardCharsets.UTF_8) + "; stderr in " + err);
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
        Run r = new Run(p.exitValue(), Files.readAllLines(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8), ms(t0));
        log("%s exited %d after %d ms, %d stdout lines", tool, r.exitCode(), r.millis(), r.stdout().size());
        return r;
    }
}
