package dev.kiln.engine;

import dev.kiln.engine.device.ReferenceDevice;

/**
 * The reference device, asking every training step to be cut into up to {@code shards} shards of at least one
 * row: the sharded step's cursors, per-shard stats and weighted gradient sum, with the reference's plain
 * arithmetic and no threads.
 */
public final class ShardedReference extends ReferenceDevice {
    private final int shards;

    public ShardedReference(int shards) {
        this.shards = shards;
    }

    @Override
    public int preferredShards(int rows, long parameters) {
        return Math.min(rows, shards);
    }
}
