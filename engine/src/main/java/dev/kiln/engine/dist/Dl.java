package dev.kiln.engine.dist;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** libc's {@code dlopen} with {@code RTLD_NOW | RTLD_GLOBAL}, which {@link java.lang.foreign.SymbolLookup} does not offer. */
final class Dl {
    private static final int RTLD_NOW = 2;
    private static final int RTLD_GLOBAL = 0x100;
    private static final MethodHandle DLOPEN = Linker.nativeLinker().defaultLookup().find("dlopen")
            .map(a -> Linker.nativeLinker().downcallHandle(a, FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT)))
            .orElse(null);

    private Dl() {
    }

    /** Opens {@code name} (a soname or a path) with its symbols global; throws IllegalArgumentException if it does not load. */
    static void openGlobal(String name) {
        if (DLOPEN == null) {
            return; // no dlopen in the default lookup: libraryLookup alone will do
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) DLOPEN.invokeExact(arena.allocateFrom(name), RTLD_NOW | RTLD_GLOBAL);
            if (handle.address() == 0) {
                throw new IllegalArgumentException("cannot open " + name);
            }
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("dlopen " + name, t);
        }
    }
}
