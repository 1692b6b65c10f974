package dev.kiln.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads, created once per device, that run one {@link Job} at a time together with the
 * calling thread. Workers spin briefly after a job (a training step issues ops back to back), then park.
 *
 * <p>It is deliberately not a general executor: no queue, no futures, no allocation per job. The caller is
 * worker 0; a job splits its own work from {@code (worker, workers)}, and must do so in fixed units so that
 * results do not depend on how many workers there are. Not thread-safe: one caller at a time.
 */
final class WorkerPool implements AutoCloseable {

    /** Work split over {@code workers} threads; this call does the share of {@code worker} (0 = the caller). */
    interface Job {
        void run(int worker, int workers);
    }

    /** How long an idle thread spins before parking: longer than the gap between two ops of a step. */
    private static final long SPIN_NANOS = 50_000;

    private final int size;
    private final Thread[] threads; // size - 1 workers; the caller is worker 0
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Job job;
    private volatile int generation;
    private volatile Thread waiting;
    private volatile Throwable failure;
    private volatile boolean closed;

    WorkerPool(int size, String name) {
        if (size < 1) {
            throw new IllegalArgumentException("a pool needs at least one thread, got " + size);
        }
        this.size = size;
        this.threads = new Thread[size - 1];
        for (int i = 0; i < threads.length; i++) {
            int worker = i + 1;
            threads[i] = Thread.ofPlatform().daemon().name(name + "-" + worker).unstarted(() -> loop(worker));
            threads[i].start();
        }
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

    /** Runs {@code job} on every thread and returns when all are done; rethrows a worker's failure. */
    void run(Job j) {
        if (size == 1) {
            j.run(0, 1);
            return;
        }
        if (closed) {
            throw new IllegalStateException("the CPU device is closed");
        }
        failure = null;
        job = j;
        pending.set(size - 1);
        generation++; // volatile write: publishes job to the workers
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
        Throwable mine = null;
        try {
            j.run(0, size);
        } catch (Throwable t) {
            mine = t;
        }
        awaitWorkers();
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

    private void awaitWorkers() {
        long start = System.nanoTime();
        int spins = 0;
        while (pending.get() != 0) {
            if ((++spins & 63) != 0 || System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                waiting = Thread.currentThread();
                while (pending.get() != 0) {
                    LockSupport.park(this);
                }
                waiting = null;
            }
        }
    }

    private void loop(int worker) {
        int seen = 0;
        while (true) {
            long start = System.nanoTime();
            int spins = 0;
            while (generation == seen) {
                if (closed) {
                    return;
                }
                if ((++spins & 63) != 0 || System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            seen = generation;
            try {
                job.run(worker, size);
            } catch (Throwable t) {
                failure = t;
            }
            if (pending.decrementAndGet() == 0) {
                Thread w = waiting;
                if (w != null) {
                    LockSupport.unpark(w);
                }
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
