package dev.kiln.engine.device;

/** Element types a {@link Device} stores: 32-bit floats, 32-bit ints, unsigned bytes (pixels). */
public enum DType {
    F32(4), I32(4), U8(1);

    /** Bytes per element. */
    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }
}
