package dev.kiln.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads, created once per device, that run one {@link Job} at a time together with the
 * calling thread. A job is a number of fixed work units; every thread, the caller included, claims the next
 * unclaimed unit until none is left, so a worker that the operating system has not scheduled yet (this machine is
 * shared) simply gets no units, and the caller never waits for a thread that has not started. The caller waits
 * only for units already claimed. Workers spin briefly after a job (a training step issues ops back to back),
 * then park.
 *
 * <p>Results do not depend on which thread runs a unit, as long as a unit's output is a fixed part of the result
 * computed in a fixed order; {@code worker} is only for per-thread scratch. It is deliberately not a general
 * executor: no queue, no futures, no allocation per job. Not thread-safe: one caller at a time.
 */
final class WorkerPool implements AutoCloseable {

    /** Work cut into units; {@link #run(int, int)} does one whole unit. */
    interface Job {
        /** Does unit {@code unit} on thread {@code worker} (0 = the caller; for per-thread scratch only). */
        void run(int unit, int worker);
    }

    /** How long an idle worker spins before parking: longer than the gap between two ops of a step. */
    private static final long SPIN_NANOS = 100_000;
    /** How long the caller spins on a claimed unit before yielding its core (the unit's thread may need it). */
    private static final long YIELD_AFTER_NANOS = 20_000;

    private final int size;
    private final Worker[] threads; // size - 1 workers; the caller is worker 0
    private final boolean[] parkedFlags; // written and read only through PARKED (volatile semantics)
    /** Jobs of up to this many units are claimed with affinity (see {@link #run}). */
    static final int AFFINE_MAX_UNITS = 32;
    /**
     * Generation in the high 32 bits; in the low 32 bits the next unclaimed unit, or for an affine job the mask of
     * claimed units. All ones there (-1) closes a generation.
     */
    private final AtomicLong ticket = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private volatile Job job;
    private volatile int units;
    private volatile Throwable failure;
    private volatile boolean closed;
    private int generation;

    private static final java.lang.invoke.VarHandle PARKED =
            java.lang.invoke.MethodHandles.arrayElementVarHandle(boolean[].class);

    WorkerPool(int size, String name) {
        if (size < 1) {
            throw new IllegalArgumentException("a pool needs at least one thread, got " + size);
        }
        this.size = size;
        this.threads = new Worker[size - 1];
        this.parkedFlags = new boolean[size];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Worker(this, i + 1, name + "-" + (i + 1));
            threads[i].start();
        }
    }

    /** A pool thread that knows its index, so code running a unit can ask {@link #currentWorker()}. */
    private static final class Worker extends Thread {
        final WorkerPool pool;
        final int index;

        Worker(WorkerPool pool, int index, String name) {
            super(name);
            this.pool = pool;
            this.index = index;
            setDaemon(true);
        }

        @Override
        public void run() {
            pool.loop(index);
        }
    }

    /** The index of this pool's thread running the calling code: 1 .. size - 1 on a worker, 0 on any other thread. */
    int currentWorker() {
        return Thread.currentThread() instanceof Worker w && w.pool == this ? w.index : 0;
    }

    /** Threads that run jobs, the caller included. */
    int size() {
        return size;
    }

    /** Thread ids of the workers (not the caller), for allocation accounting in tests. */
    long[] workerThreadIds() {
        long[] ids = new long[threads.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = threads[i].threadId();
        }
        return ids;
    }

    /**
     * Runs units {@code [0, count)} of {@code j} on whichever threads claim them; returns when all are done. A job of
     * up to {@value #AFFINE_MAX_UNITS} units is affine: thread {@code w} first claims units {@code w, w + size, ...}
     * and only then any left, so from one step to the next the same thread tends to do the same unit and finds its
     * data in its own cache (a training step's replicas: rows, activations, gradient buffers), while a thread that is
     * late still holds nobody up.
     */
    void run(Job j, int count) {
        if (size == 1 || count <= 1) {
            for (int u = 0; u < count; u++) {
                j.run(u, 0);
            }
            return;
        }
        if (closed) {
            throw new IllegalStateException("the CPU device is closed");
        }
        failure = null;
        job = j;
        units = count;
        done.set(0);
        int gen = ++generation;
        ticket.set((long) gen << 32); // volatile write: publishes job and units to the workers
        for (int i = 0; i < threads.length; i++) {
            if ((boolean) PARKED.getVolatile(parkedFlags, i + 1)) {
                LockSupport.unpark(threads[i]);
            }
        }
        Throwable mine = null;
        try {
            claim(j, gen, count, 0);
        } catch (Throwable t) {
            mine = t;
        }
        awaitUnits(count);
        // close this generation before the next job's fields are written: a late claim on it must fail
        ticket.set(((long) gen << 32) | 0xFFFF_FFFFL);
        Throwable theirs = failure;
        if (mine != null || theirs != null) {
            Throwable t = mine != null ? mine : theirs;
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    /** Claims and runs units of generation {@code gen} until none is left (or a newer job replaced it). */
    private void claim(Job j, int gen, int count, int worker) {
        if (count <= AFFINE_MAX_UNITS) {
            claimAffine(j, gen, count, worker);
            return;
        }
        while (true) {
            long t = ticket.get();
            int unit = (int) t;
            if ((int) (t >>> 32) != gen || unit < 0 || unit >= count) {
                return;
            }
            if (ticket.compareAndSet(t, t + 1)) {
                try {
                    j.run(unit, worker);
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    /** This thread's own units first (every size-th from its index), then any left; the ticket holds a claim mask. */
    private void claimAffine(Job j, int gen, int count, int worker) {
        for (int u = worker; u < count; u += size) {
            if (!claimUnit(j, gen, u, worker)) {
                return;
            }
        }
        for (int u = 0; u < count; u++) {
            if (u % size != worker && !claimUnit(j, gen, u, worker)) {
                return;
            }
        }
    }

    /** Claims unit {@code u} of generation {@code gen} and runs it if free; false once the generation is over. */
    private boolean claimUnit(Job j, int gen, int u, int worker) {
        long bit = 1L << u;
        while (true) {
            long t = ticket.get();
            if ((int) (t >>> 32) != gen) {
                return false;
            }
            if ((t & bit) != 0) {
                return true; // someone else has it
            }
            if (ticket.compareAndSet(t, t | bit)) {
                try {
                    j.run(u, worker);
                } finally {
                    done.incrementAndGet();
                }
                return true;
            }
        }
    }

    private void awaitUnits(int count) {
        if (done.get() == count) {
            return;
        }
        long start = System.nanoTime();
        while (done.get() != count) {
            if (System.nanoTime() - start < YIELD_AFTER_NANOS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    private void loop(int worker) {
        int seen = 0;
        while (true) {
            long start = System.nanoTime();
            int spins = 0;
            long t;
            while ((int) ((t = ticket.get()) >>> 32) == seen) {
                if (closed) {
                    return;
                }
                if ((++spins & 63) != 0 || System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    PARKED.setVolatile(parkedFlags, worker, true);
                    if ((int) (ticket.get() >>> 32) == seen && !closed) {
                        LockSupport.park(this);
                    }
                    PARKED.setVolatile(parkedFlags, worker, false);
                    start = System.nanoTime();
                }
            }
            seen = (int) (t >>> 32);
            // job and units were written before this generation's ticket; the next job writes them only after
            // closing this generation (all low bits set), so a claim that succeeds used this job's fields
            Job j = job;
            int count = units;
            try {
                claim(j, seen, count, worker);
            } catch (Throwable e) {
                failure = e;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
    }
}
