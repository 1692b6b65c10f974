package dev.kiln.engine.dist;

import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Ranks that are threads of this JVM, for tests of the data-parallel logic without MPI: each collective deposits every
 * rank's values, waits for all, and sums them in rank order (so every rank gets the same bits, as MPI gives).
 */
final class ThreadRanks {
    private final int size;
    private final CyclicBarrier barrier;
    private final Object[] slots;

    ThreadRanks(int size) {
        this.size = size;
        this.barrier = new CyclicBarrier(size);
        this.slots = new Object[size];
    }

    /** Rank {@code rank}'s view; use each from its own thread. */
    Ranks rank(int rank) {
        return new Ranks() {
            @Override public int rank() { return rank; }

            @Override public int size() { return size; }

            @Override public int localRank() { return rank; }

            @Override public int localSize() { return size; }

            @Override
            public void sum(float[] values) {
                slots[rank] = values.clone();
                await();
                float[] s = new float[values.length];
                for (Object o : slots) {
                    float[] v = (float[]) o;
                    for (int i = 0; i < s.length; i++) {
                        s[i] += v[i];
                    }
                }
                await();
                System.arraycopy(s, 0, values, 0, s.length);
            }

            @Override
            public void sum(double[] values) {
                slots[rank] = values.clone();
                await();
                double[] s = new double[values.length];
                for (Object o : slots) {
                    double[] v = (double[]) o;
                    for (int i = 0; i < s.length; i++) {
                        s[i] += v[i];
                    }
                }
                await();
                System.arraycopy(s, 0, values, 0, s.length);
            }

            @Override
            public byte[] broadcast(byte[] bytes) {
                if (rank == 0) {
                    slots[0] = bytes.clone();
                }
                await();
                byte[] b = ((byte[]) slots[0]).clone();
                await();
                return b;
            }

            @Override
            public void abort(int code) {
                throw new IllegalStateException("abort " + code);
            }

            @Override
            public void close() {
            }
        };
    }

    private void await() {
        try {
            barrier.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
            throw new IllegalStateException("a rank did not reach the collective", e);
        }
    }
}
