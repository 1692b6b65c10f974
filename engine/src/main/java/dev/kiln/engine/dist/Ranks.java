package dev.kiln.engine.dist;

/**
 * The processes of a data-parallel run, one per rank: this process's rank and the collectives that tie them
 * together. {@link #join()} gives the ranks a launcher started ({@code mpirun}, {@code srun}), over MPI, or this
 * process alone when none did; the latter needs no MPI library and its collectives do nothing.
 *
 * <p>Every rank must call the collectives in the same order with the same sizes. Close it at the end (MPI's
 * finalize); {@link #abort} ends every rank at once after a failure.
 */
public interface Ranks extends AutoCloseable {

    /** This process's rank, 0 to {@link #size()} - 1. */
    int rank();

    /** The number of ranks. */
    int size();

    /** The rank among those on this machine: the GPU a rank uses. */
    int localRank();

    /** The number of ranks on this machine, which share its cores. */
    int localSize();

    /** Rank 0: the one that prints and writes files. */
    default boolean isRoot() {
        return rank() == 0;
    }

    /** Adds up {@code values} over every rank, in place: afterwards each rank holds the same sums. */
    void sum(float[] values);

    /** As {@link #sum(float[])}, in doubles. */
    void sum(double[] values);

    /** Rank 0's {@code bytes} on every rank (the argument of the other ranks is ignored and may be null). */
    byte[] broadcast(byte[] bytes);

    /** Ends every rank's process with exit status {@code code}, now. Does not return. */
    void abort(int code);

    /** "rank 1 of 4", for messages. */
    default String describe() {
        return "rank " + rank() + " of " + size();
    }

    /** Leaves the group (MPI_Finalize); every rank must call it once, after its last collective. */
    @Override
    void close();

    /** This process alone. */
    static Ranks single() {
        return Single.INSTANCE;
    }

    /**
     * The ranks of this run: over MPI when a launcher started this process as one of several ({@link Launch}), else
     * {@link #single()}. Starts MPI at most once per process.
     *
     * @throws dev.kiln.data.KilnException when launched as one of several ranks but MPI cannot be loaded or started
     */
    static Ranks join() {
        Launch launch = Launch.detect();
        if (launch == null || launch.size() == 1) {
            return single();
        }
        return Mpi.start(launch);
    }

    /** One process: sums and broadcasts are the identity. */
    enum Single implements Ranks {
        INSTANCE;

        @Override public int rank() { return 0; }

        @Override public int size() { return 1; }

        @Override public int localRank() { return 0; }

        @Override public int localSize() { return 1; }

        @Override public void sum(float[] values) { }

        @Override public void sum(double[] values) { }

        @Override public byte[] broadcast(byte[] bytes) { return bytes; }

        @Override public void abort(int code) {
            Runtime.getRuntime().halt(code);
        }

        @Override public void close() { }
    }
}
