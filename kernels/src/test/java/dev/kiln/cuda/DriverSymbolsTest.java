package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The driver entry points we bind are the ones {@code cuda.h} really calls: each name is in the header, and none is
 * a plain name the header redirects to a versioned one (binding {@code cuMemAlloc} instead of {@code cuMemAlloc_v2}
 * would call the 32-bit legacy function). Skipped where the CUDA headers are not installed.
 */
class DriverSymbolsTest {

    @Test
    void everyBoundNameIsTheOneCudaHCalls() throws Exception {
        Path header = Path.of("/usr/local/cuda/include/cuda.h");
        assumeTrue(Files.isRegularFile(header), "no " + header + " (the CUDA toolkit is not installed)");
        String h = Files.readString(header);
        Map<String, String> redirects = new HashMap<>();
        Matcher m = Pattern.compile("(?m)^\\s*#define\\s+(cu\\w+)\\s+(?:__CUDA_API_PT(?:DS|SZ)\\()?(cu\\w+)\\)?\\s*$").matcher(h);
        while (m.find()) {
            redirects.putIfAbsent(m.group(1), m.group(2));
        }
        for (String symbol : CudaDriver.SYMBOLS) {
            assertTrue(Pattern.compile("\\b" + symbol + "\\b").matcher(h).find(), symbol + " does not appear in cuda.h");
            String target = redirects.get(symbol);
            // cuEventElapsedTime: the _v2 (CUDA 12.8+) is tried first, the plain one is the fallback for older drivers
            if (target != null && !symbol.equals("cuEventElapsedTime")) {
                assertFalse(!target.equals(symbol), "cuda.h maps " + symbol + " to " + target + ": bind " + target);
            }
        }
    }
}
