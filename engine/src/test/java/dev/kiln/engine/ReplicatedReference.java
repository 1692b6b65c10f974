package dev.kiln.engine;

import dev.kiln.engine.device.ReferenceDevice;

/**
 * The reference device, asking every training step to run as up to {@code replicas} replicas of at least one
 * row: the replicas' cursors, per-replica stats and the weighted gradient sum, with the reference's plain
 * arithmetic and no threads.
 */
public final class ReplicatedReference extends ReferenceDevice {
    private final int replicas;

    public ReplicatedReference(int replicas) {
        this.replicas = replicas;
    }

    @Override
    public int localReplicas(int rows, long parameters) {
        return Math.min(rows, replicas);
    }
}
