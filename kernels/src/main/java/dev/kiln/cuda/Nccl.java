package dev.kiln.cuda;

import dev.kiln.data.KilnException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NCCL through java.lang.foreign: the entry points a data-parallel step needs, each result checked. A literal
 * binding that owns nothing but what it is asked to create. The prototypes are NCCL 2's, from {@code nccl.h}
 * (NVIDIA/nccl {@code src/nccl.h.in}); none of them changed since NCCL 2.0 but {@code ncclRedOpCreatePreMulSum}
 * (2.11):
 *
 * <pre>
 * #define NCCL_UNIQUE_ID_BYTES 128
 * typedef struct { char internal[NCCL_UNIQUE_ID_BYTES]; } ncclUniqueId;
 * typedef struct ncclComm* ncclComm_t;
 * typedef enum { ncclSuccess = 0, ... } ncclResult_t;                 // an int
 * typedef enum { ..., ncclFloat32 = 7, ... } ncclDataType_t;         // an int
 * typedef enum { ncclSum = 0, ... } ncclRedOp_t;                      // an int
 * typedef enum { ncclScalarDevice = 0, ncclScalarHostImmediate = 1 } ncclScalarResidence_t;
 * ncclResult_t ncclGetVersion(int *version);
 * ncclResult_t ncclGetUniqueId(ncclUniqueId *uniqueId);
 * ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank); // the id by value
 * ncclResult_t ncclCommDestroy(ncclComm_t comm);
 * const char  *ncclGetErrorString(ncclResult_t result);
 * ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype,
 *                            ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);
 * ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t *op, void *scalar, ncclDataType_t datatype,
 *                                       ncclScalarResidence_t residence, ncclComm_t comm);
 * ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t comm);
 * </pre>
 *
 * The test {@code NcclTest} compiles a stand-in against these same prototypes (nccl_prototypes.h) and calls it
 * through this binding.
 */
public final class Nccl {
    static final int UNIQUE_ID_BYTES = 128;
    static final int NCCL_FLOAT32 = 7;
    static final int NCCL_SUM = 0;
    static final int NCCL_SCALAR_HOST_IMMEDIATE = 1;
    private static final MemoryLayout UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE).withName("internal"));

    /** Every exported name this binding needs. */
    static final List<String> SYMBOLS = List.of("ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank",
            "ncclCommDestroy", "ncclGetErrorString", "ncclAllReduce", "ncclRedOpCreatePreMulSum", "ncclRedOpDestroy");

    final String location;
    private final MethodHandle getVersion, getUniqueId, commInitRank, commDestroy, getErrorString, allReduce,
            createPreMulSum, redOpDestroy;

    Nccl(NcclSearch.Found found) {
        location = found.location();
        SymbolLookup lib = found.symbols();
        getVersion = bind(lib, "ncclGetVersion", Native.returnsInt(ADDRESS));
        getUniqueId = bind(lib, "ncclGetUniqueId", Native.returnsInt(ADDRESS));
        commInitRank = bind(lib, "ncclCommInitRank", Native.returnsInt(ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT));
        commDestroy = bind(lib, "ncclCommDestroy", Native.returnsInt(ADDRESS));
        getErrorString = bind(lib, "ncclGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        allReduce = bind(lib, "ncclAllReduce",
                Native.returnsInt(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        createPreMulSum = bind(lib, "ncclRedOpCreatePreMulSum", Native.returnsInt(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        redOpDestroy = bind(lib, "ncclRedOpDestroy", Native.returnsInt(JAVA_INT, ADDRESS));
    }

    /** Loads NCCL from where {@link NcclSearch#fromEnvironment()} finds it; "NCCL not found" is a {@link KilnException}. */
    public static Nccl load() {
        return new Nccl(NcclSearch.fromEnvironment().find());
    }

    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor signature) {
        return Native.function(lib, "NCCL", name, signature);
    }

    /** NCCL's version code, e.g. 22703 for 2.27.3. */
    public int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check("ncclGetVersion", (int) getVersion.invokeExact(v));
            return v.get(JAVA_INT, 0);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** "2.27.3" for a version code. */
    static String versionString(int code) {
        return code / 10000 + "." + code / 100 % 100 + "." + code % 100;
    }

    /** A new ncclUniqueId (rank 0 makes it; the others get it by broadcast). */
    public byte[] uniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID);
            check("ncclGetUniqueId", (int) getUniqueId.invokeExact(id));
            return id.toArray(JAVA_BYTE);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A communicator of {@code ranks} for this rank, on the calling thread's current CUDA device. */
    public MemorySegment commInitRank(int ranks, byte[] uniqueId, int rank) {
        if (uniqueId.length != UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an ncclUniqueId has " + UNIQUE_ID_BYTES + " bytes, not " + uniqueId.length);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment comm = a.allocate(ADDRESS);
            MemorySegment id = a.allocate(UNIQUE_ID).copyFrom(MemorySegment.ofArray(uniqueId));
            check("ncclCommInitRank", (int) commInitRank.invokeExact(comm, ranks, id, rank));
            return comm.get(ADDRESS, 0);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void commDestroy(MemorySegment comm) {
        try {
            check("ncclCommDestroy", (int) commDestroy.invokeExact(comm));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A sum that multiplies each rank's input by {@code scale} first (its share of the batch's rows). */
    public int preMulSum(float scale, MemorySegment comm) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment op = a.allocate(JAVA_INT), scalar = a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, scale);
            check("ncclRedOpCreatePreMulSum",
                    (int) createPreMulSum.invokeExact(op, scalar, NCCL_FLOAT32, NCCL_SCALAR_HOST_IMMEDIATE, comm));
            return op.get(JAVA_INT, 0);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void redOpDestroy(int op, MemorySegment comm) {
        try {
            check("ncclRedOpDestroy", (int) redOpDestroy.invokeExact(op, comm));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Enqueues an allreduce of {@code count} floats at device address {@code send} into {@code recv} on {@code stream}. */
    public void allReduceFloats(long send, long recv, long count, int op, MemorySegment comm, MemorySegment stream) {
        try {
            check("ncclAllReduce", (int) allReduce.invokeExact(send, recv, count, NCCL_FLOAT32, op, comm, stream));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Throws a {@link KilnException} naming {@code call} and NCCL's words for {@code result} unless it is ncclSuccess. */
    void check(String call, int result) {
        if (result == 0) {
            return;
        }
        String words;
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(result);
            words = s.address() == 0 ? "error " + result : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            words = "error " + result;
        }
        throw new KilnException(call + " failed: " + words + " (ncclResult_t " + result + ")",
                result == 6 ? "another rank failed or left; its own message names the cause"
                        : "rerun with NCCL_DEBUG=WARN for NCCL's own account");
    }
}
