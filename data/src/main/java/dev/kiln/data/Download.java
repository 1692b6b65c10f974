package dev.kiln.data;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * HTTP GET of one file with bounded waiting: a connect timeout, a timeout for the response headers, and a stall
 * guard that gives up when the body stops flowing (HttpClient has no read timeout of its own). Every failure
 * becomes a one-line {@link SourceFailure} naming the URL. Not a retrying or resuming downloader: MNIST's files
 * are small, and the next source is the retry.
 */
final class Download implements AutoCloseable {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);

    /** Consumes the body; may read it only partly (then throws). */
    interface Sink {
        void accept(InputStream body) throws IOException, SourceFailure;
    }

    private final HttpClient client;
    private final Duration stallTimeout;

    Download(Duration stallTimeout) {
        this.client = HttpClient.newBuilder()
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NORMAL) // never from https down to http
                .build();
        this.stallTimeout = stallTimeout;
    }

    /** Streams the body of {@code url} into {@code sink}, reporting received bytes as {@code what}. */
    void get(URI url, String what, Progress progress, Sink sink) throws SourceFailure, IOException {
        HttpResponse<InputStream> response;
        try {
            response = client.send(HttpRequest.newBuilder(url).timeout(RESPONSE_TIMEOUT)
                    .header("User-Agent", "kiln").GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpConnectTimeoutException e) {
            throw new SourceFailure(url + ": no connection within " + CONNECT_TIMEOUT.toSeconds() + " s", e);
        } catch (HttpTimeoutException e) {
            throw new SourceFailure(url + ": no response within " + RESPONSE_TIMEOUT.toSeconds() + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SourceFailure(url + ": interrupted", e);
        } catch (IOException e) {
            throw new SourceFailure(url + ": " + reason(e), e);
        }
        long total = response.headers().firstValueAsLong("Content-Length").orElse(-1);
        try (InputStream body = response.body();
             Guarded guarded = new Guarded(body, what, total, progress)) {
            if (response.statusCode() != 200) {
                throw new SourceFailure(url + ": HTTP " + response.statusCode());
            }
            try {
                sink.accept(guarded);
            } catch (IOException | SourceFailure e) {
                if (guarded.stalled) { // the watchdog closed the body; the sink saw an error or an early end
                    throw new SourceFailure(url + ": no data for " + seconds(stallTimeout) + " after " + guarded.done + " bytes", e);
                }
                if (e instanceof SourceFailure f) {
                    throw f;
                }
                throw new SourceFailure(url + ": the download broke off after " + guarded.done + " bytes ("
                        + reason((IOException) e) + ")", e);
            }
            // The sink verified the content; a short or overlong body could not have passed its checksum.
            if (total < 0) {
                progress.bytes(what, guarded.done, guarded.done);
            }
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1e3);
    }

    private static String reason(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException || t instanceof java.net.UnknownHostException) {
                return "host not found";
            }
        }
        if (e instanceof ConnectException) {
            return "connection refused or unreachable";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    @Override
    public void close() {
        client.shutdownNow();
    }

    /** Counts bytes, reports progress, and closes the body when no byte arrived for the stall timeout. */
    private final class Guarded extends FilterInputStream {
        private final String what;
        private final long total;
        private final Progress progress;
        private final ScheduledExecutorService watchdog;
        private volatile long lastData = System.nanoTime();
        private volatile boolean stalled;
        private long done;

        Guarded(InputStream in, String what, long total, Progress progress) {
            super(in);
            this.what = what;
            this.total = total;
            this.progress = progress;
            this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "kiln-download-watchdog");
                t.setDaemon(true);
                return t;
            });
            long period = Math.max(10, stallTimeout.toMillis() / 4);
            watchdog.scheduleAtFixedRate(this::check, period, period, TimeUnit.MILLISECONDS);
        }

        private void check() {
            if (System.nanoTime() - lastData > stallTimeout.toNanos()) {
                stalled = true;
                try {
                    in.close(); // unblocks the reader: its read ends or throws
                } catch (IOException ignored) {
                    // closing is best effort; the reader sees 'stalled' either way
                }
                watchdog.shutdown();
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (stalled) {
                throw new IOException("stalled");
            }
            if (n > 0) {
                lastData = System.nanoTime();
                done += n;
                progress.bytes(what, done, total);
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            watchdog.shutdownNow();
            super.close();
        }
    }
}
