package dev.kiln.cli;

import dev.kiln.data.KilnException;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.train.Trainer;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * What a command needs to run as one of several ranks ({@code mpirun -np N kiln train}): only rank 0 speaks, a
 * failure on any rank ends them all with one line naming the rank, and files are read once and broadcast.
 */
final class RankedRun {
    /** How long a rank other than 0 waits before reporting its failure, so that one rank 0 shares is told once. */
    private static final long QUIET_MILLIS = 2000;

    private RankedRun() {
    }

    /**
     * Runs {@code body} on this rank and finalizes MPI after it. When it fails on one of several ranks, prints one
     * {@code kiln: rank R of N: ...} line on {@code err} and aborts every rank (exit 1): the others would wait
     * forever for this one in their next collective.
     */
    static int run(Ranks ranks, PrintWriter err, Callable<Integer> body) throws Exception {
        if (ranks.size() == 1) {
            return body.call();
        }
        int code;
        try {
            code = body.call();
        } catch (Throwable e) {
            if (!ranks.isRoot()) {
                Thread.sleep(QUIET_MILLIS); // a failure every rank meets (bad flags, divergence): rank 0 reports it
            }
            err.println("kiln: " + ranks.describe() + ": " + Kiln.describe(e));
            if (Kiln.Verbosity.verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            ranks.abort(1);
            throw new IllegalStateException("unreachable");
        }
        ranks.close();
        return code;
    }

    /** Over several ranks: the ranks on a machine share its cores (unless --threads says), and take one GPU each. */
    static void shareMachine(Ranks ranks, DeviceMixin device) {
        if (ranks.size() > 1) {
            device.threads = device.threads > 0 ? device.threads
                    : Math.max(1, Runtime.getRuntime().availableProcessors() / ranks.localSize());
            device.gpuIndex = gpuIndex(ranks, System.getenv("CUDA_VISIBLE_DEVICES"));
        }
    }

    /** Over several ranks: checks they opened the same kind of device, makes {@code trainer} one of them, says so. */
    static void distribute(Ranks ranks, Device device, Trainer trainer, PrintWriter err) {
        if (ranks.size() > 1) {
            requireSameDeviceKind(ranks, device);
            trainer.distribute(ranks);
            err.println("data-parallel: " + ranks.size() + " ranks, each on its slice of every batch of "
                    + trainer.config().batchSize());
        }
    }

    /**
     * Fails unless every rank opened the same kind of device: ranks on GPUs reduce with NCCL and ranks on CPUs with
     * MPI, which cannot meet (e.g. {@code --device auto} with fewer GPUs than ranks on a machine).
     */
    static void requireSameDeviceKind(Ranks ranks, Device device) {
        boolean gpu = device.name().startsWith("cuda");
        double[] gpus = {gpu ? 1 : 0};
        ranks.sum(gpus);
        if (gpus[0] != 0 && gpus[0] != ranks.size()) {
            throw new KilnException((int) gpus[0] + " of the " + ranks.size() + " ranks opened a GPU and the others the CPU ("
                    + ranks.describe() + ": " + device.name() + ")",
                    "start one rank per GPU on each machine, or pass --device cpu");
        }
    }

    /**
     * The GPU a rank opens: its local rank, or 0 where the launcher left each rank one visible GPU
     * ({@code CUDA_VISIBLE_DEVICES} of one entry, as {@code srun --gpus-per-task=1} does).
     */
    static int gpuIndex(Ranks ranks, String cudaVisibleDevices) {
        boolean oneVisible = cudaVisibleDevices != null && !cudaVisibleDevices.isBlank() && !cudaVisibleDevices.contains(",");
        return oneVisible ? 0 : ranks.localRank();
    }

    /** {@code out} for rank 0, a writer that drops everything for the others. */
    static PrintWriter quietUnlessRoot(Ranks ranks, PrintWriter out) {
        return ranks.isRoot() ? out : new PrintWriter(Writer.nullWriter());
    }

    /** Rank 0 reads the checkpoint and broadcasts its bytes, so the other ranks need no shared file system. */
    static Checkpoint.Loaded load(Ranks ranks, Path file) {
        if (ranks.size() == 1) {
            return Checkpoint.load(file);
        }
        byte[] bytes = null;
        Checkpoint.Loaded loaded = null;
        if (ranks.isRoot()) {
            loaded = Checkpoint.load(file); // its errors, on rank 0, before the others wait
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new KilnException("cannot read " + file + ": " + e.getMessage());
            }
        }
        bytes = ranks.broadcast(bytes);
        if (loaded != null) {
            return loaded;
        }
        Path copy = null;
        try {
            copy = Files.createTempFile("kiln-resume-rank" + ranks.rank() + "-", ".safetensors");
            Files.write(copy, bytes);
            return Checkpoint.load(copy);
        } catch (IOException e) {
            throw new KilnException("cannot keep rank 0's copy of " + file + ": " + e.getMessage());
        } finally {
            if (copy != null) {
                try {
                    Files.deleteIfExists(copy);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
    }
}
