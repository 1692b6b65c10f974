package dev.kiln.engine.dist;

import dev.kiln.data.KilnException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link Ranks} over MPI, bound through FFM to Open MPI's C API ({@code mpi.h}). Open MPI's handles are the
 * addresses of its predefined objects: {@code MPI_COMM_WORLD} is {@code &ompi_mpi_comm_world}, {@code MPI_FLOAT}
 * {@code &ompi_mpi_float}, {@code MPI_SUM} {@code &ompi_mpi_op_sum}, and {@code MPI_IN_PLACE} is {@code (void *) 1}.
 * MPI's default error handler stays: a failed call aborts every rank with MPI's own message.
 *
 * <p>Started once per process ({@link #start}); calls come from one thread at a time (MPI_THREAD_SERIALIZED).
 */
final class Mpi implements Ranks {
    private static final int MPI_SUCCESS = 0;
    private static final int MPI_THREAD_SERIALIZED = 2;
    private static final MemorySegment MPI_IN_PLACE = MemorySegment.ofAddress(1);
    private static final int MAX_STRING = 256; // MPI_MAX_ERROR_STRING, MPI_MAX_LIBRARY_VERSION_STRING
    private static Mpi started;

    private final String location;
    private final MemorySegment commWorld, mpiFloat, mpiDouble, mpiByte, opSum;
    private final MethodHandle allreduce, bcast, abort, finalizeHandle, errorString;
    private final int rank, size, localRank, localSize;
    private final Arena arena = Arena.ofShared();
    private MemorySegment buffer = MemorySegment.NULL; // reused for sums: grows to the largest
    private boolean closed;

    private Mpi(MpiSearch.Found lib, Launch launch) {
        this.location = lib.location();
        SymbolLookup s = lib.symbols();
        commWorld = data(s, "ompi_mpi_comm_world");
        mpiFloat = data(s, "ompi_mpi_float");
        mpiDouble = data(s, "ompi_mpi_double");
        mpiByte = data(s, "ompi_mpi_byte");
        opSum = data(s, "ompi_mpi_op_sum");
        // int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype, MPI_Op, MPI_Comm)
        allreduce = fn(s, "MPI_Allreduce", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        // int MPI_Bcast(void *buffer, int count, MPI_Datatype, int root, MPI_Comm)
        bcast = fn(s, "MPI_Bcast", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        // int MPI_Abort(MPI_Comm, int errorcode)
        abort = fn(s, "MPI_Abort", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        // int MPI_Finalize(void)
        finalizeHandle = fn(s, "MPI_Finalize", FunctionDescriptor.of(JAVA_INT));
        // int MPI_Error_string(int errorcode, char *string, int *resultlen)
        errorString = fn(s, "MPI_Error_string", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        // int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
        MethodHandle init = fn(s, "MPI_Init_thread", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        // int MPI_Comm_rank(MPI_Comm, int *), int MPI_Comm_size(MPI_Comm, int *)
        MethodHandle commRank = fn(s, "MPI_Comm_rank", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle commSize = fn(s, "MPI_Comm_size", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            int rc = (int) init.invokeExact(MemorySegment.NULL, MemorySegment.NULL, MPI_THREAD_SERIALIZED, out);
            if (rc != MPI_SUCCESS) {
                throw new KilnException("MPI_Init_thread failed (" + rc + ") with " + location + " under " + launch.launcher(),
                        "check that mpirun and " + MpiSearch.SONAME + " come from the same Open MPI");
            }
            check("MPI_Comm_rank", (int) commRank.invokeExact(commWorld, out));
            rank = out.get(JAVA_INT, 0);
            check("MPI_Comm_size", (int) commSize.invokeExact(commWorld, out));
            size = out.get(JAVA_INT, 0);
        } catch (KilnException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("MPI start", t);
        }
        localRank = launch.localRank();
        localSize = launch.localSize();
    }

    /** Starts MPI for a process the launcher described (once; later calls return the same ranks). */
    static synchronized Mpi start(Launch launch) {
        if (started == null) {
            started = new Mpi(MpiSearch.fromEnvironment().find(), launch);
        }
        return started;
    }

    @Override public int rank() { return rank; }

    @Override public int size() { return size; }

    @Override public int localRank() { return localRank; }

    @Override public int localSize() { return localSize; }

    /** Where the library was loaded from. */
    String location() { return location; }

    @Override
    public synchronized void sum(float[] values) {
        MemorySegment b = buffer(4L * values.length);
        MemorySegment.copy(values, 0, b, JAVA_FLOAT, 0, values.length);
        allreduce(b, values.length, mpiFloat);
        MemorySegment.copy(b, JAVA_FLOAT, 0, values, 0, values.length);
    }

    @Override
    public synchronized void sum(double[] values) {
        MemorySegment b = buffer(8L * values.length);
        MemorySegment.copy(values, 0, b, JAVA_DOUBLE, 0, values.length);
        allreduce(b, values.length, mpiDouble);
        MemorySegment.copy(b, JAVA_DOUBLE, 0, values, 0, values.length);
    }

    private void allreduce(MemorySegment b, int count, MemorySegment type) {
        try {
            check("MPI_Allreduce", (int) allreduce.invokeExact(MPI_IN_PLACE, b, count, type, opSum, commWorld));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public synchronized byte[] broadcast(byte[] bytes) {
        try {
            MemorySegment len = buffer(8);
            len.set(JAVA_LONG, 0, rank == 0 ? bytes.length : 0);
            check("MPI_Bcast", (int) bcast.invokeExact(len, 8, mpiByte, 0, commWorld));
            int n = (int) len.get(JAVA_LONG, 0);
            MemorySegment b = buffer(n);
            if (rank == 0) {
                MemorySegment.copy(bytes, 0, b, JAVA_BYTE, 0, n);
            }
            check("MPI_Bcast", (int) bcast.invokeExact(b, n, mpiByte, 0, commWorld));
            byte[] out = new byte[n];
            MemorySegment.copy(b, JAVA_BYTE, 0, out, 0, n);
            return out;
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void abort(int code) {
        try {
            int ignored = (int) abort.invokeExact(commWorld, code);
        } catch (Throwable t) {
            // fall through to halt
        }
        Runtime.getRuntime().halt(code);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            check("MPI_Finalize", (int) finalizeHandle.invokeExact());
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private MemorySegment buffer(long bytes) {
        if (buffer.byteSize() < bytes) {
            buffer = arena.allocate(Math.max(bytes, 2 * buffer.byteSize()), 64);
        }
        return buffer;
    }

    private void check(String call, int rc) {
        if (rc == MPI_SUCCESS) {
            return;
        }
        String text = "error " + rc;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment str = a.allocate(MAX_STRING), len = a.allocate(JAVA_INT);
            if ((int) errorString.invokeExact(rc, str, len) == MPI_SUCCESS) {
                text = str.getString(0);
            }
        } catch (Throwable t) {
            // keep the number
        }
        throw new KilnException(call + " failed on rank " + rank + ": " + text);
    }

    private static MemorySegment data(SymbolLookup s, String name) {
        return s.find(name).orElseThrow(() -> new KilnException("the MPI library has no symbol " + name
                + ": it is not Open MPI", "use Open MPI's " + MpiSearch.SONAME + " (KILN_MPI)"));
    }

    private static MethodHandle fn(SymbolLookup s, String name, FunctionDescriptor d) {
        return Linker.nativeLinker().downcallHandle(data(s, name), d);
    }
}
