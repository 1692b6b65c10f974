package dev.kiln.engine.model;

import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Tensor;

/**
 * {@code (I, O)} copies of a network's weights transposed, for the layers whose shape its device multiplies faster
 * that way in passes cut into shards ({@link dev.kiln.engine.device.Device#prefersTransposedWeights}); none for a
 * pass that is not cut. A copy is current only after {@link #refresh}: once per pass over all shards, since every
 * shard multiplies by the same weights.
 */
public final class TransposedWeights {
    private final Mlp model;
    private final Tensor[] copies;   // (I_l, O_l) per layer, or null where the layer uses W_l itself

    /** Copies for {@code model}'s layers where its device prefers them, if {@code sharded}; else none at all. */
    public TransposedWeights(Mlp model, boolean sharded) {
        this.model = model;
        int layers = model.spec().layerCount();
        copies = new Tensor[layers];
        for (int l = 0; sharded && l < layers; l++) {
            int o = model.spec().outputs(l), i = model.spec().inputs(l);
            if (model.device().prefersTransposedWeights(o, i)) {
                copies[l] = model.device().allocate(DType.F32, i, o);
            }
        }
    }

    /** Per layer its copy, or null: the argument of {@link Mlp#forward(Tensor, Tensor[], Tensor[])}. */
    public Tensor[] copies() {
        return copies;
    }

    /** Issues every copy anew from the weights as they are now. */
    public void refresh() {
        for (int l = 0; l < copies.length; l++) {
            if (copies[l] != null) {
                model.device().transpose(model.weight(l), copies[l]);
            }
        }
    }
}
