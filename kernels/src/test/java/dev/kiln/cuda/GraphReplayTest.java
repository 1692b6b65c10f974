package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link GraphReplay} against a recording stand-in for the driver's capture and graph calls: no GPU needed. */
class GraphReplayTest {

    /** Records every call; while capturing, the body's work is recorded as captured rather than run. */
    static final class FakeGraphs implements GraphReplay.Graphs {
        final List<String> calls = new ArrayList<>();
        boolean capturing;
        CudaException failEndCapture, failInstantiate;
        int nextHandle = 1;

        @Override
        public void beginCapture() {
            calls.add("begin");
            capturing = true;
        }

        @Override
        public MemorySegment endCapture() {
            calls.add("end");
            capturing = false;
            if (failEndCapture != null) {
                throw failEndCapture;
            }
            return MemorySegment.ofAddress(0x1000L * nextHandle++);
        }

        @Override
        public MemorySegment instantiate(MemorySegment graph) {
            calls.add("instantiate");
            if (failInstantiate != null) {
                throw failInstantiate;
            }
            return MemorySegment.ofAddress(graph.address() + 1);
        }

        @Override
        public void launch(MemorySegment exec) {
            calls.add("launch");
        }

        @Override
        public void destroyGraph(MemorySegment graph) {
            calls.add("destroyGraph");
        }

        @Override
        public void destroyExec(MemorySegment exec) {
            calls.add("destroyExec");
        }
    }

    private final FakeGraphs graphs = new FakeGraphs();
    private final StringBuilder err = new StringBuilder();
    private final java.util.function.Consumer<String> notes = line -> err.append(line).append('\n');

    private Runnable body() {
        return () -> graphs.calls.add(graphs.capturing ? "captured op" : "eager op");
    }

    private static CudaException captureInvalidated() {
        return new CudaException("cuStreamEndCapture", 901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", null, "report it");
    }

    @Test
    void runsEagerlyOnceThenCapturesOnceThenOnlyLaunches() {
        GraphReplay r = new GraphReplay(body(), graphs, notes);
        r.run();
        assertEquals(List.of("eager op"), graphs.calls, "the first run warms up outside any capture");
        r.run();
        r.run();
        assertEquals(List.of("eager op", "begin", "captured op", "end", "instantiate", "launch", "launch"), graphs.calls);
        assertFalse(r.eager());
        r.destroy();
        assertEquals(List.of("destroyExec", "destroyGraph"), graphs.calls.subList(7, 9));
        assertEquals("", err.toString());
    }

    @Test
    void aCaptureTheDriverRefusesRunsTheBodyEagerlyFromThenOnAndSaysSo() {
        graphs.failEndCapture = captureInvalidated();
        GraphReplay r = new GraphReplay(body(), graphs, notes);
        r.run();
        r.run();
        r.run();
        assertEquals(List.of("eager op", "begin", "captured op", "end", "eager op", "eager op"), graphs.calls);
        assertTrue(r.eager());
        String note = err.toString();
        assertTrue(note.startsWith(GraphReplay.FALLBACK_NOTE), note);
        assertTrue(note.contains("CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"), note);
        assertEquals(1, note.lines().count(), "said once: " + note);
    }

    @Test
    void aFailedInstantiationFreesTheGraphAndRunsEagerly() {
        graphs.failInstantiate = new CudaException("cuGraphInstantiateWithFlags", 1, "CUDA_ERROR_INVALID_VALUE", null, "x");
        GraphReplay r = new GraphReplay(body(), graphs, notes);
        r.run();
        r.run();
        assertEquals(List.of("eager op", "begin", "captured op", "end", "instantiate", "destroyGraph", "eager op"),
                graphs.calls);
        r.destroy();
        assertEquals(7, graphs.calls.size(), "nothing left to free");
    }

    @Test
    void aCudaFailureInsideTheBodyEndsTheCaptureThenRunsEagerly() {
        CudaException inBody = new CudaException("cublasSgemm_v2", 13, "CUBLAS_STATUS_EXECUTION_FAILED", null, "x");
        int[] runs = {0};
        GraphReplay r = new GraphReplay(() -> {
            if (runs[0]++ == 1) {
                throw inBody;
            }
            graphs.calls.add(graphs.capturing ? "captured op" : "eager op");
        }, graphs, notes);
        r.run();
        r.run();
        assertEquals(List.of("eager op", "begin", "end", "destroyGraph", "eager op"), graphs.calls);
        assertFalse(graphs.capturing);
    }

    @Test
    void aProgrammingErrorInTheBodyPropagatesAndTheNextRunCapturesAgain() {
        IllegalStateException hostWork = new IllegalStateException("download inside a replayable body");
        int[] runs = {0};
        GraphReplay r = new GraphReplay(() -> {
            if (runs[0]++ == 1) {
                throw hostWork;
            }
            graphs.calls.add(graphs.capturing ? "captured op" : "eager op");
        }, graphs, notes);
        r.run();
        assertSame(hostWork, assertThrows(IllegalStateException.class, r::run));
        assertFalse(r.eager());
        assertFalse(graphs.capturing, "the capture was ended");
        r.run();
        assertEquals(List.of("eager op", "begin", "end", "destroyGraph", "begin", "captured op", "end", "instantiate",
                "launch"), graphs.calls);
        assertEquals("", err.toString());
    }
}
