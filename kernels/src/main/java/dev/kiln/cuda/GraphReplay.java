package dev.kiln.cuda;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * One {@link dev.kiln.engine.device.Device#replayable} body on a CUDA stream: run eagerly on its first run, captured
 * as a CUDA graph on its second, then replayed with one {@code cuGraphLaunch} per run. The eager first run lets
 * cuBLAS and the driver do their one-time work (cuBLAS loads a shape's kernels lazily on its first GEMM, and
 * loading inside a capture is not guaranteed to work) before anything is captured.
 *
 * <p>When the capture itself fails in the driver or cuBLAS (a {@link CudaException} from the body, from
 * {@code cuStreamEndCapture} or from {@code cuGraphInstantiateWithFlags}: some call the graph cannot hold), nothing
 * has run, so the body runs eagerly instead, now and on every later run: the same device work issued op by op,
 * slower but equal. That is said once, naming the failure, so it is never silent (CudaDevice says it through the
 * {@code dev.kiln} {@link System.Logger}, which the CLI prints as a {@code warning:} line). A body's own
 * programming errors ({@link IllegalStateException} for host work inside a capture, {@link IllegalArgumentException})
 * are not capture failures: they propagate, and the next run tries to capture again. Not thread-safe.
 */
final class GraphReplay implements Runnable {
    /** The words a fallback's note starts with, for scripts and tests that must notice it (bench/gpu/check.sh). */
    static final String FALLBACK_NOTE = "CUDA graph capture failed";

    /** The stream-capture and graph calls on one stream: {@link CudaDevice}'s driver, or a fake in tests. */
    interface Graphs {
        /** Starts capturing the stream and marks the device as capturing. */
        void beginCapture();

        /** Stops capturing (also after a failed body) and returns the graph, NULL when the capture was invalidated. */
        MemorySegment endCapture();

        MemorySegment instantiate(MemorySegment graph);

        void launch(MemorySegment exec);

        void destroyGraph(MemorySegment graph);

        void destroyExec(MemorySegment exec);
    }

    private final Runnable body;
    private final Graphs graphs;
    private final Consumer<String> notes;
    private MemorySegment graph, exec;
    private boolean warmedUp;
    private boolean eager;

    GraphReplay(Runnable body, Graphs graphs, Consumer<String> notes) {
        this.body = body;
        this.graphs = graphs;
        this.notes = notes;
    }

    /**
     * Runs the body once: eagerly the first time, then by launching its graph (capturing it first when needed), or
     * eagerly for good after a failed capture.
     */
    @Override
    public void run() {
        if (eager || !warmedUp) {
            body.run();
            warmedUp = true;
            return;
        }
        if (exec == null) {
            try {
                capture();
            } catch (CudaException e) {
                eager = true;
                notes.accept(FALLBACK_NOTE + " (" + e.getMessage() + "); this step runs without a graph from now on "
                        + "(slower, same results)");
                body.run();
                return;
            }
        }
        graphs.launch(exec);
    }

    /** Whether a failed capture made this body run eagerly. */
    boolean eager() {
        return eager;
    }

    private void capture() {
        graphs.beginCapture();
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            try {
                MemorySegment partial = graphs.endCapture(); // the body's own failure is what gets reported
                if (partial != null && !partial.equals(MemorySegment.NULL)) {
                    graphs.destroyGraph(partial);
                }
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        MemorySegment captured = graphs.endCapture();
        try {
            exec = graphs.instantiate(captured);
        } catch (RuntimeException e) {
            graphs.destroyGraph(captured);
            throw e;
        }
        graph = captured;
    }

    /** Frees the graph and its executable; the body will be captured again if it runs after this. */
    void destroy() {
        if (exec != null) {
            MemorySegment e = exec;
            exec = null;
            graphs.destroyExec(e);
        }
        if (graph != null) {
            MemorySegment g = graph;
            graph = null;
            graphs.destroyGraph(g);
        }
    }
}
