package dev.kiln.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** Small helpers shared by the FFM bindings: finding a symbol and reading C strings. Not an API. */
final class Native {
    private Native() {
    }

    static final Linker LINKER = Linker.nativeLinker();

    /** The downcall for {@code name} in {@code library}; a missing symbol is an error naming it and the library. */
    static MethodHandle function(SymbolLookup library, String libraryName, String name, FunctionDescriptor signature) {
        MemorySegment symbol = library.find(name).orElseThrow(() -> new dev.kiln.data.KilnException(
                libraryName + " has no function " + name,
                "the library is too old for Kiln (CUDA 12.0 or newer is needed)"));
        return LINKER.downcallHandle(symbol, signature);
    }

    /** The first of {@code names} that {@code library} exports, for entry points that were renamed. */
    static Optional<MethodHandle> firstFunction(SymbolLookup library, FunctionDescriptor signature, String... names) {
        for (String name : names) {
            Optional<MemorySegment> symbol = library.find(name);
            if (symbol.isPresent()) {
                return Optional.of(LINKER.downcallHandle(symbol.get(), signature));
            }
        }
        return Optional.empty();
    }

    /** A NUL-terminated C string at {@code address}, or {@code fallback} for a null pointer. */
    static String cString(MemorySegment address, String fallback) {
        if (address == null || address.equals(MemorySegment.NULL)) {
            return fallback;
        }
        return address.reinterpret(4096).getString(0);
    }

    static FunctionDescriptor returnsInt(MemoryLayout... args) {
        return FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT, args);
    }
}
