package dev.kiln.engine.device;

import java.util.Objects;

/**
 * A row-major 2-D array in a device's memory, or a view of one.
 *
 * <p>A tensor is a window {@code [offset, offset + rows * cols)} of elements over a storage that only its
 * {@link Device} understands (a {@code float[]} on the CPU, a device pointer on a GPU). Views share storage:
 * the whole parameter vector of a model is one tensor, and each layer's weight and bias are views of it, so
 * an optimizer updates every parameter in one pass. A tensor does not own its storage; the device does.
 */
public final class Tensor {
    private final Device device;
    private final Object storage;
    private final DType dtype;
    private final long offset; // in elements, from the start of storage
    private final int rows;
    private final int cols;

    /** For {@link Device} implementations; others use {@link Device#allocate}. */
    public Tensor(Device device, Object storage, DType dtype, long offset, int rows, int cols) {
        if (rows < 0 || cols < 0 || offset < 0) {
            throw new IllegalArgumentException("bad tensor geometry: offset " + offset + ", " + rows + "x" + cols);
        }
        this.device = Objects.requireNonNull(device);
        this.storage = Objects.requireNonNull(storage);
        this.dtype = Objects.requireNonNull(dtype);
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
    }

    public Device device() { return device; }

    /** The device's own handle for the memory; only the owning device interprets it. */
    public Object storage() { return storage; }

    public DType dtype() { return dtype; }

    /** First element of this tensor within {@link #storage()}. */
    public long offset() { return offset; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** rows * cols. */
    public long size() { return (long) rows * cols; }

    /** The first {@code n} rows (a partial batch), sharing storage. */
    public Tensor firstRows(int n) {
        return rows(0, n);
    }

    /** Rows {@code [start, start + n)} (a replica's share of a batch, one row of a stack), sharing storage. */
    public Tensor rows(int start, int n) {
        if (start < 0 || n < 0 || start + n > rows) {
            throw new IllegalArgumentException("rows [" + start + ", " + (start + n) + ") of a tensor with " + rows + " rows");
        }
        return new Tensor(device, storage, dtype, offset + (long) start * cols, n, cols);
    }

    /** A {@code rows x cols} view starting {@code start} elements into this tensor, sharing storage. */
    public Tensor slice(long start, int rows, int cols) {
        if (start < 0 || start + (long) rows * cols > size()) {
            throw new IllegalArgumentException("slice [" + start + ", +" + rows + "x" + cols + ") outside a tensor of " + size());
        }
        return new Tensor(device, storage, dtype, offset + start, rows, cols);
    }

    /** The same elements seen as {@code rows x cols}. */
    public Tensor reshape(int rows, int cols) {
        if ((long) rows * cols != size()) {
            throw new IllegalArgumentException("cannot reshape " + this.rows + "x" + this.cols + " to " + rows + "x" + cols);
        }
        return new Tensor(device, storage, dtype, offset, rows, cols);
    }

    @Override
    public String toString() {
        return dtype + "[" + rows + "x" + cols + "]@" + offset + " on " + device.name();
    }
}
