package dev.kiln.engine;

import dev.kiln.data.Dataset;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;

/**
 * A {@link Dataset} uploaded once to a device, with the visiting order that {@link Device#gatherBatch} reads.
 * Pixels stay bytes on the device; batches are gathered and scaled to [0, 1] there. The trainer rewrites the
 * order each epoch; evaluation asks for the identity order.
 */
public final class DeviceDataset {
    private final Dataset source;
    private final Device device;
    private final Tensor images; // U8 (N, P)
    private final Tensor labels; // I32 (N, 1)
    private final Tensor order;  // I32 (N, 1): sample index visited at each position
    private boolean identity;

    private DeviceDataset(Dataset source, Device device) {
        this.source = source;
        this.device = device;
        int n = source.size();
        images = device.allocate(DType.U8, n, source.pixelsPerSample());
        labels = device.allocate(DType.I32, n, 1);
        order = device.allocate(DType.I32, n, 1);
        device.upload(source.pixels(), images);
        device.upload(source.labels(), labels);
    }

    /** Uploads pixels and labels (once). */
    public static DeviceDataset upload(Device device, Dataset source) {
        return new DeviceDataset(source, device);
    }

    public Dataset source() { return source; }

    /** Number of samples N. */
    public int size() { return source.size(); }

    public Tensor images() { return images; }

    public Tensor labels() { return labels; }

    public Tensor order() { return order; }

    /** Uploads a visiting order (a permutation of 0 .. N-1), e.g. an epoch's shuffle. */
    public void setOrder(int[] permutation) {
        if (permutation.length != size()) {
            throw new IllegalArgumentException("order of " + permutation.length + " for a dataset of " + size());
        }
        device.upload(permutation, order);
        identity = false;
    }

    /** Makes the order 0, 1, ..., N-1 (uploading only when it is not already). */
    public void useIdentityOrder() {
        if (!identity) {
            int[] id = new int[size()];
            for (int i = 0; i < id.length; i++) {
                id[i] = i;
            }
            device.upload(id, order);
            identity = true;
        }
    }
}
