package dev.kiln.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Launches kernels on the device's stream. Arguments are written into one reusable native buffer (the driver copies
 * them at launch, also while a graph is being captured), so a launch allocates nothing. With {@code cudaSync} it
 * waits for each launch to finish and checks, so an asynchronous fault is reported at its launch (not while capturing,
 * when nothing runs). Usage: {@code launcher.args().ptr(x).i32(n).launch(kernel, grid, 1, 256, 1)}. Not thread-safe.
 */
class Launcher {
    private static final int MAX_ARGS = 16;

    private final CudaDriver driver;
    private final MemorySegment stream;
    private final boolean syncEachLaunch;
    private final java.util.function.BooleanSupplier capturing;
    private final MemorySegment values;   // MAX_ARGS slots of 8 bytes
    private final MemorySegment pointers; // void*[MAX_ARGS], slot i points at values[i]
    private final char[] kinds = new char[MAX_ARGS]; // 'p' pointer, 'l' long, 'i' int, 'f' float: for tests
    private int count;

    Launcher(CudaDriver driver, MemorySegment stream, boolean syncEachLaunch, java.util.function.BooleanSupplier capturing,
             Arena arena) {
        this.driver = driver;
        this.stream = stream;
        this.syncEachLaunch = syncEachLaunch;
        this.capturing = capturing;
        this.values = arena.allocate(8L * MAX_ARGS, 8);
        this.pointers = arena.allocate(ADDRESS, MAX_ARGS);
        for (int i = 0; i < MAX_ARGS; i++) {
            pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
        }
    }

    /** Starts a new argument list. */
    Launcher args() {
        count = 0;
        return this;
    }

    /** A device pointer ({@code T*}). */
    Launcher ptr(long devicePointer) {
        values.set(JAVA_LONG, 8L * slot('p'), devicePointer);
        return this;
    }

    Launcher i64(long v) {
        values.set(JAVA_LONG, 8L * slot('l'), v);
        return this;
    }

    Launcher i32(int v) {
        values.set(JAVA_INT, 8L * slot('i'), v);
        return this;
    }

    Launcher f32(float v) {
        values.set(JAVA_FLOAT, 8L * slot('f'), v);
        return this;
    }

    private int slot(char kind) {
        if (count == MAX_ARGS) {
            throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
        }
        kinds[count] = kind;
        return count++;
    }

    /** The kinds of the current arguments, one letter each: p pointer, l long, i int, f float. */
    String argumentKinds() {
        return new String(kinds, 0, count);
    }

    /** Launches {@code kernel} with the arguments given since {@link #args()}; a 2-D block when blockY > 1. */
    void launch(PtxModule.Kernel kernel, int gridX, int gridY, int blockX, int blockY) {
        dispatch(kernel, gridX, gridY, blockX, blockY);
    }

    /** Hands the launch to the driver; tests override it to record launches instead. */
    protected void dispatch(PtxModule.Kernel kernel, int gridX, int gridY, int blockX, int blockY) {
        driver.launchKernel(kernel.name(), kernel.function(), gridX, gridY, blockX, blockY, 0, stream, pointers);
        if (syncEachLaunch && !capturing.getAsBoolean()) {
            try {
                driver.streamSynchronize(stream);
            } catch (CudaException e) {
                throw new CudaException("cuStreamSynchronize after " + kernel.name(), e.code(), e.errorName(), null, e.hint());
            }
        }
    }

    /** Blocks of {@code block} threads to cover {@code n} items in a grid-stride loop: at least 1, at most 65536. */
    static int gridFor(long n, int block) {
        return (int) Math.max(1, Math.min((n + block - 1) / block, 65536));
    }
}
