package dev.kiln.cuda;

import dev.kiln.data.KilnException;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.train.GradientReduction;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * One NVIDIA GPU as a {@link Device}: tensors in GPU memory, GEMMs by cuBLAS, everything else by Kiln's PTX kernels,
 * all issued in order on one CUDA stream of the GPU's primary context. Operations are asynchronous; {@link #download}
 * and {@link #synchronize} wait. {@link #replayable} captures a step as a CUDA graph.
 *
 * <p>Storage is a {@link DeviceMemory} (a device pointer); a tensor's offset counts elements from it. Memory is freed
 * when the device closes, not per tensor. It is deliberately not thread-safe (one stream, one argument buffer),
 * though it may be used from any one thread at a time: each call makes the context current on its thread.
 */
public final class CudaDevice implements Device {
    private static final long STAGING_BYTES = 8L << 20;   // pinned bounce buffer for uploads and downloads
    private static final long WORKSPACE_BYTES = 32L << 20; // cuBLAS's recommendation for Hopper (4 MiB before)
    private static final long ALIGN = 256;
    // The device whose context this thread last made current. Keyed by device, not by CUcontext value: a primary
    // context released by a closed device and retained again by a new one may come back at the same address, while
    // the thread's driver state no longer has it current.
    private static final ThreadLocal<CudaDevice> CURRENT = new ThreadLocal<>();

    /** A tensor's storage on this device: a device pointer and the bytes allocated there. */
    public record DeviceMemory(long address, long bytes) {
    }

    private final CudaRuntime runtime;
    private final CudaDriver driver;
    private final Cublas cublas;
    private final DeviceOptions options;
    private final CudaRuntime.Gpu gpu;
    private final int cuDevice;
    private final Arena arena = Arena.ofShared(); // launcher buffers and GEMM scalars, for the device's lifetime
    private final List<Long> allocations = new ArrayList<>();
    private final List<GraphReplay> replays = new ArrayList<>();
    private final List<PtxModule> modules = new ArrayList<>();
    private final Map<Integer, MemorySegment> scalars = new HashMap<>();
    private MemorySegment context, stream, cublasHandle, staging;
    private long workspace;
    private ActivationKernels activation;
    private LossKernels loss;
    private GatherKernels gather;
    private OptimizerKernels optimizer;
    private boolean capturing;
    private boolean inReplayableBody; // also in a body's eager runs, so host work there fails as it would in a capture
    private boolean closed;
    private final List<Runnable> closers = new ArrayList<>(); // e.g. an NCCL communicator, ended before the context

    /** Opens GPU {@code options.gpuIndex()}: retains its primary context, loads the kernels, creates the cuBLAS handle. */
    CudaDevice(CudaRuntime runtime, DeviceOptions options) {
        this.runtime = runtime;
        this.driver = runtime.driver;
        this.cublas = runtime.cublas;
        this.options = options;
        if (options.gpuIndex() < 0 || options.gpuIndex() >= runtime.gpus.size()) {
            throw new KilnException("there is no GPU " + options.gpuIndex() + ": this machine has " + runtime.gpus.size(),
                    "choose a GPU index from 0 to " + (runtime.gpus.size() - 1));
        }
        this.gpu = runtime.gpus.get(options.gpuIndex());
        this.cuDevice = driver.device(gpu.ordinal());
        try {
            context = driver.primaryContextRetain(cuDevice);
            bind();
            stream = driver.streamCreate(CudaDriver.CU_STREAM_NON_BLOCKING);
            Launcher launcher = new Launcher(driver, stream, options.cudaSync(), () -> capturing, arena);
            activation = new ActivationKernels(module("activation")::kernel, launcher);
            loss = new LossKernels(module("loss")::kernel, launcher);
            gather = new GatherKernels(module("gather")::kernel, launcher);
            optimizer = new OptimizerKernels(module("optim")::kernel, launcher);
            cublasHandle = cublas.create();
            cublas.setStream(cublasHandle, stream);
            workspace = driver.memAlloc(WORKSPACE_BYTES);
            cublas.setWorkspace(cublasHandle, workspace, WORKSPACE_BYTES); // after setStream, which resets it
            cublas.setPointerMode(cublasHandle, Cublas.CUBLAS_POINTER_MODE_HOST);
            cublas.setMathMode(cublasHandle, options.tf32() ? Cublas.CUBLAS_TF32_TENSOR_OP_MATH : Cublas.CUBLAS_DEFAULT_MATH);
            staging = driver.memAllocHost(STAGING_BYTES);
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private PtxModule module(String family) {
        PtxModule m = PtxModule.load(driver, family);
        modules.add(m);
        return m;
    }

    @Override
    public String name() {
        return "cuda:" + gpu.ordinal();
    }

    /** 16 bytes: every weight and bias starts aligned, so cuBLAS can use its vectorised (aligned) kernels. */
    @Override
    public int parameterAlignment() {
        return 4;
    }

    @Override
    public String description() {
        return gpu.name() + " (compute " + gpu.major() + "." + gpu.minor() + ", " + gpu.multiprocessors() + " SMs) via CUDA driver "
                + CudaRuntime.versionString(runtime.driverVersion) + " and cuBLAS " + runtime.cublasVersion()
                + (options.tf32() ? " (TF32 GEMMs)" : " (FP32 GEMMs)") + (options.cudaSync() ? ", synchronising every launch" : "");
    }

    /** The description, so that printing a device says what it is. */
    @Override
    public String toString() {
        return description();
    }

    // ---- context and state ----

    /** Makes this device's context current on the calling thread (cuBLAS and the driver both use it). */
    private void bind() {
        if (closed) {
            throw new IllegalStateException(name() + " is closed");
        }
        if (CURRENT.get() != this) {
            driver.setCurrent(context);
            CURRENT.set(this);
        }
    }

    private void notWhileCapturing(String what) {
        if (capturing || inReplayableBody) {
            throw new IllegalStateException(what + " inside a replayable body: a captured CUDA graph cannot "
                    + (what.startsWith("upload") ? "read host memory at replay" : "wait for or allocate on the GPU")
                    + "; do it before or after the step");
        }
    }

    // ---- data-parallel ranks (NcclReduction) ----

    /** GPU ranks sum their gradients with ncclAllReduce on this device's stream, inside the captured step. */
    @Override
    public GradientReduction rankReduction(Ranks ranks) {
        bind();
        return NcclReduction.open(this, ranks);
    }

    /** Makes this device's context current (NCCL creates its communicator on the current device). */
    void makeCurrent() {
        bind();
    }

    /** The stream every operation of this device is issued on. */
    MemorySegment stream() {
        return stream;
    }

    /** The device address of an F32 tensor's first element. */
    long f32Address(Tensor t) {
        return address(t, DType.F32);
    }

    /** Runs {@code closer} when this device closes, before its memory and context go; the last registered runs first. */
    void onClose(Runnable closer) {
        closers.add(closer);
    }

    private long address(Tensor t, DType dtype) {
        if (t.device() != this || !(t.storage() instanceof DeviceMemory m)) {
            throw new IllegalArgumentException("tensor " + t + " does not belong to " + name());
        }
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException("expected a " + dtype + " tensor, got " + t);
        }
        return m.address() + t.offset() * dtype.bytes;
    }

    private static void requireShape(String op, String what, Tensor t, int rows, int cols) {
        if (t.rows() != rows || t.cols() != cols) {
            throw new IllegalArgumentException(op + ": " + what + " is " + t.rows() + "x" + t.cols()
                    + ", expected " + rows + "x" + cols);
        }
    }

    // ---- memory and transfers ----

    @Override
    public Tensor allocate(DType dtype, int rows, int cols) {
        notWhileCapturing("allocate");
        bind();
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("bad tensor shape " + rows + "x" + cols);
        }
        long bytes = (long) rows * cols * dtype.bytes;
        long rounded = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);
        long address = driver.memAlloc(rounded);
        allocations.add(address);
        driver.memsetD32Async(address, 0, rounded / 4, stream);
        syncIfAsked("cuMemsetD32Async");
        return new Tensor(this, new DeviceMemory(address, rounded), dtype, 0, rows, cols);
    }

    @Override
    public void upload(float[] src, Tensor dst) {
        copyIn(MemorySegment.ofArray(src), src.length, address(dst, DType.F32), dst);
    }

    @Override
    public void upload(int[] src, Tensor dst) {
        copyIn(MemorySegment.ofArray(src), src.length, address(dst, DType.I32), dst);
    }

    @Override
    public void upload(byte[] src, Tensor dst) {
        copyIn(MemorySegment.ofArray(src), src.length, address(dst, DType.U8), dst);
    }

    /** Host to device through the pinned staging buffer; returns when done, so the caller may reuse its array. */
    private void copyIn(MemorySegment src, int srcLength, long dst, Tensor t) {
        notWhileCapturing("upload");
        bind();
        if (srcLength < t.size()) {
            throw new IllegalArgumentException("upload: " + srcLength + " values for " + t);
        }
        long bytes = t.size() * t.dtype().bytes;
        for (long done = 0; done < bytes; done += STAGING_BYTES) {
            long n = Math.min(STAGING_BYTES, bytes - done);
            MemorySegment.copy(src, done, staging, 0, n);
            driver.memcpyHtoDAsync(dst + done, staging, n, stream);
            driver.streamSynchronize(stream); // the staging buffer is reused by the next chunk
        }
    }

    @Override
    public void download(Tensor src, float[] dst) {
        copyOut(address(src, DType.F32), src, MemorySegment.ofArray(dst), dst.length);
    }

    @Override
    public void download(Tensor src, int[] dst) {
        copyOut(address(src, DType.I32), src, MemorySegment.ofArray(dst), dst.length);
    }

    private void copyOut(long src, Tensor t, MemorySegment dst, int dstLength) {
        notWhileCapturing("download");
        bind();
        if (dstLength < t.size()) {
            throw new IllegalArgumentException("download: " + t + " into an array of " + dstLength);
        }
        long bytes = t.size() * t.dtype().bytes;
        for (long done = 0; done < bytes; done += STAGING_BYTES) {
            long n = Math.min(STAGING_BYTES, bytes - done);
            driver.memcpyDtoHAsync(staging, src + done, n, stream);
            driver.streamSynchronize(stream);
            MemorySegment.copy(staging, 0, dst, done, n);
        }
    }

    @Override
    public void fill(Tensor t, float value) {
        bind();
        int bits = switch (t.dtype()) {
            case F32 -> Float.floatToRawIntBits(value);
            case I32 -> (int) value;
            case U8 -> throw new IllegalArgumentException("fill: U8 tensors are read-only data");
        };
        long address = address(t, t.dtype());
        if (t.size() > 0) {
            driver.memsetD32Async(address, bits, t.size(), stream);
            syncIfAsked("cuMemsetD32Async");
        }
    }

    // ---- math ----

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        bind();
        GemmMapping.Call call = GemmMapping.rowMajor(transA, transB, a.rows(), a.cols(), b.rows(), b.cols());
        requireShape("gemm", "C", c, call.n(), call.m()); // C (M, N) is cuBLAS's (m = N, n = M)
        long pa = address(a, DType.F32), pb = address(b, DType.F32), pc = address(c, DType.F32);
        if (call.m() == 0 || call.n() == 0) {
            return;
        }
        cublas.sgemm(cublasHandle, call, scalar(alpha), pb, pa, scalar(beta), pc);
        syncIfAsked("cublasSgemm_v2");
    }

    /**
     * With --cuda-sync, waits for the work just issued and checks it, so an asynchronous fault is reported at the
     * call that caused it (kernel launches do the same in {@link Launcher}). Not while capturing, when nothing runs.
     */
    private void syncIfAsked(String after) {
        if (options.cudaSync() && !capturing) {
            try {
                driver.streamSynchronize(stream);
            } catch (CudaException e) {
                throw new CudaException("cuStreamSynchronize after " + after, e.code(), e.errorName(), null, e.hint());
            }
        }
    }

    /**
     * A host float that never changes while the device lives, so cuBLAS (host pointer mode) may read it at any time,
     * also when a captured graph replays.
     */
    private MemorySegment scalar(float v) {
        return scalars.computeIfAbsent(Float.floatToRawIntBits(v), bits -> arena.allocateFrom(JAVA_FLOAT, v));
    }

    @Override
    public void biasActivation(Tensor z, Tensor bias, boolean relu) {
        bind();
        requireShape("biasActivation", "bias", bias, 1, z.cols());
        activation.biasActivation(address(z, DType.F32), address(bias, DType.F32), z.rows(), z.cols(), relu);
    }

    @Override
    public void reluBackward(Tensor dh, Tensor h, Tensor dbias) {
        bind();
        requireShape("reluBackward", "h", h, dh.rows(), dh.cols());
        requireShape("reluBackward", "dbias", dbias, 1, dh.cols());
        activation.reluBackward(address(dh, DType.F32), address(h, DType.F32), address(dbias, DType.F32), dh.rows(), dh.cols());
    }

    @Override
    public void columnSums(Tensor x, Tensor out) {
        bind();
        requireShape("columnSums", "out", out, 1, x.cols());
        activation.columnSums(address(x, DType.F32), address(out, DType.F32), x.rows(), x.cols());
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
        bind();
        int rows = logits.rows(), classes = logits.cols();
        requireShape("softmaxCrossEntropy", "labels", labels, rows, 1);
        requireShape("softmaxCrossEntropy", "dlogits", dlogits, rows, classes);
        requireShape("softmaxCrossEntropy", "stats", stats, 1, 2);
        requireClasses("softmaxCrossEntropy", classes);
        loss.softmaxCrossEntropy(address(logits, DType.F32), address(labels, DType.I32), address(dlogits, DType.F32),
                address(stats, DType.F32), rows, classes);
    }

    @Override
    public void countCorrect(Tensor logits, Tensor labels, Tensor stats) {
        bind();
        requireShape("countCorrect", "labels", labels, logits.rows(), 1);
        requireShape("countCorrect", "stats", stats, 1, 2);
        requireClasses("countCorrect", logits.cols());
        loss.countCorrect(address(logits, DType.F32), address(labels, DType.I32), address(stats, DType.F32),
                logits.rows(), logits.cols());
    }

    @Override
    public void argmax(Tensor logits, Tensor predictions) {
        bind();
        requireShape("argmax", "predictions", predictions, logits.rows(), 1);
        requireClasses("argmax", logits.cols());
        loss.argmax(address(logits, DType.F32), address(predictions, DType.I32), logits.rows(), logits.cols());
    }

    private static void requireClasses(String op, int classes) {
        if (classes < 1) {
            throw new IllegalArgumentException(op + ": logits have no classes");
        }
    }

    /**
     * As {@link Device#gatherBatch}. The cursor lives on the GPU, so {@code s + B <= N} cannot be checked here
     * without a round trip: a row outside the dataset gets NaN pixels and label -1, which the loss then shows.
     */
    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, Tensor cursor, Tensor x, Tensor y) {
        bind();
        int n = images.rows(), pixels = images.cols(), rows = x.rows();
        requireShape("gatherBatch", "labels", labels, n, 1);
        requireShape("gatherBatch", "order", order, n, 1);
        requireShape("gatherBatch", "cursor", cursor, 1, 1);
        requireShape("gatherBatch", "x", x, rows, pixels);
        requireShape("gatherBatch", "y", y, rows, 1);
        gather.gatherBatch(address(images, DType.U8), address(labels, DType.I32), address(order, DType.I32),
                address(cursor, DType.I32), address(x, DType.F32), address(y, DType.I32), n, pixels, rows);
    }

    @Override
    public void addInt(Tensor counter, int delta) {
        bind();
        gather.addInt(address(counter, DType.I32), delta);
    }

    @Override
    public void sgd(Tensor params, Tensor grads, Tensor velocity, Tensor lr, float momentum, float weightDecay) {
        bind();
        requireShape("sgd", "grads", grads, params.rows(), params.cols());
        requireShape("sgd", "velocity", velocity, params.rows(), params.cols());
        requireShape("sgd", "lr", lr, 1, 1);
        optimizer.sgd(address(params, DType.F32), address(grads, DType.F32), address(velocity, DType.F32),
                address(lr, DType.F32), momentum, weightDecay, params.size());
    }

    @Override
    public void adam(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor step, Tensor lr,
                     float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        bind();
        requireShape("adam", "grads", grads, params.rows(), params.cols());
        requireShape("adam", "m", m, params.rows(), params.cols());
        requireShape("adam", "v", v, params.rows(), params.cols());
        requireShape("adam", "step", step, 1, 1);
        requireShape("adam", "lr", lr, 1, 1);
        optimizer.adam(address(params, DType.F32), address(grads, DType.F32), address(m, DType.F32), address(v, DType.F32),
                address(step, DType.I32), address(lr, DType.F32), beta1, beta2, eps, weightDecay, decoupled, params.size());
    }

    // ---- graphs and synchronisation ----

    /**
     * Runs {@code body} eagerly on its first run, captures it as a CUDA graph on its second (cuStreamBeginCapture,
     * thread-local mode) and launches the graph; later runs only launch it (cuGraphLaunch), which replays every kernel
     * and cuBLAS call with the arguments they had at capture. So the body must use the same tensors and scalars every time; values that change between
     * steps (learning rate, step count, batch cursor) must live in device tensors that the body reads or advances
     * ({@link #addInt}). Inside the body only device work is allowed: {@link #upload}, {@link #download},
     * {@link #allocate} and {@link #synchronize} throw {@link IllegalStateException}, since a graph cannot read host
     * memory that may change, wait, or allocate. A replayable run inside another's capture becomes part of it.
     * If the driver or cuBLAS refuses the capture, the body runs eagerly instead, with a warning (logger dev.kiln)
     * ({@link GraphReplay}). The graphs are freed when the device closes.
     */
    @Override
    public Runnable replayable(Runnable body) {
        GraphReplay replay = new GraphReplay(body, graphs,
                note -> System.getLogger("dev.kiln").log(System.Logger.Level.WARNING, note));
        replays.add(replay);
        return () -> {
            bind();
            if (capturing || inReplayableBody) {
                body.run(); // inside another body: part of its capture or of its eager run
                return;
            }
            inReplayableBody = true;
            try {
                replay.run();
            } finally {
                inReplayableBody = false;
            }
            if (options.cudaSync()) {
                driver.streamSynchronize(stream);
            }
        };
    }

    /** Stream capture and graphs on this device's stream, for {@link GraphReplay}. */
    private final GraphReplay.Graphs graphs = new GraphReplay.Graphs() {
        @Override
        public void beginCapture() {
            // Thread-local: only this thread's calls can spoil the capture, so another thread's CUDA work in the same
            // process (a second device, a library) does not.
            driver.streamBeginCapture(stream, CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
            capturing = true;
        }

        @Override
        public MemorySegment endCapture() {
            capturing = false;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ADDRESS);
                driver.check("cuStreamEndCapture", driver.streamEndCapture(stream, out));
                return out.get(ADDRESS, 0);
            }
        }

        @Override
        public MemorySegment instantiate(MemorySegment graph) {
            return driver.graphInstantiate(graph);
        }

        @Override
        public void launch(MemorySegment exec) {
            driver.graphLaunch(exec, stream);
        }

        @Override
        public void destroyGraph(MemorySegment graph) {
            driver.graphDestroy(graph);
        }

        @Override
        public void destroyExec(MemorySegment exec) {
            driver.graphExecDestroy(exec);
        }
    };

    @Override
    public void synchronize() {
        notWhileCapturing("synchronize");
        bind();
        driver.streamSynchronize(stream);
    }

    /** Milliseconds the GPU spent on {@code body}'s work, timed with CUDA events (waits for it to finish). */
    public float timeMillis(Runnable body) {
        notWhileCapturing("timeMillis");
        bind();
        MemorySegment start = driver.eventCreate(), end = driver.eventCreate();
        try {
            driver.eventRecord(start, stream);
            body.run();
            driver.eventRecord(end, stream);
            driver.eventSynchronize(end);
            return driver.eventElapsedMillis(start, end);
        } finally {
            driver.eventDestroy(start);
            driver.eventDestroy(end);
        }
    }

    /** Frees graphs, memory, kernels, the cuBLAS handle and the stream, and releases the context; reports the first failure. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        notWhileCapturing("close");
        RuntimeException first = null;
        List<Runnable> steps = new ArrayList<>();
        if (context != null) {
            steps.add(() -> {
                driver.setCurrent(context);
                CURRENT.set(this); // so another device's next call on this thread makes its own context current again
            });
        }
        if (stream != null) {
            steps.add(() -> driver.streamSynchronize(stream));
        }
        closers.reversed().forEach(steps::add); // last registered first: an NCCL operator before its communicator
        replays.forEach(r -> steps.add(r::destroy));
        if (cublasHandle != null) {
            steps.add(() -> cublas.destroy(cublasHandle));
        }
        if (workspace != 0) {
            steps.add(() -> driver.memFree(workspace));
        }
        allocations.forEach(p -> steps.add(() -> driver.memFree(p)));
        modules.forEach(m -> steps.add(m::close));
        if (staging != null) {
            steps.add(() -> driver.memFreeHost(staging));
        }
        if (stream != null) {
            steps.add(() -> driver.streamDestroy(stream));
        }
        if (context != null) {
            steps.add(() -> driver.primaryContextRelease(cuDevice));
        }
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        closed = true;
        if (CURRENT.get() == this) {
            CURRENT.remove();
        }
        arena.close();
        if (first != null) {
            throw first;
        }
    }
}
