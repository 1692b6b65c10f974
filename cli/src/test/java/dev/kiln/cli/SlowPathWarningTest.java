package dev.kiln.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code java -jar kiln.jar} without the Vector API flag still trains, on the reference device, and says so once. */
class SlowPathWarningTest {
    @TempDir
    Path dir;

    @Test
    void withoutTheVectorModuleTheCliWarnsOnceNamingTheFlag() throws IOException, InterruptedException {
        StringBuilder csv = new StringBuilder("a,b,y\n");
        for (int i = 0; i < 40; i++) {
            csv.append(i % 2).append(',').append(i % 3).append(',').append(i % 2).append('\n');
        }
        Path data = Files.writeString(dir.resolve("d.csv"), csv.toString());
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Kiln.class.getName(),
                "train", "--data", data.toString(), "--epochs", "1", "-o", dir.resolve("m.safetensors").toString())
                .redirectError(dir.resolve("err.txt").toFile()).redirectOutput(dir.resolve("out.txt").toFile()).start();
        assertEquals(0, p.waitFor(), Files.readString(dir.resolve("err.txt")));
        List<String> err = Files.readAllLines(dir.resolve("err.txt"), StandardCharsets.UTF_8);
        List<String> warnings = err.stream().filter(l -> l.startsWith("warning: ")).toList();
        assertEquals(1, warnings.size(), String.join("\n", err));
        assertTrue(warnings.getFirst().endsWith("add --add-modules jdk.incubator.vector to the java command line"), warnings.getFirst());
        assertTrue(err.stream().anyMatch(l -> l.startsWith("device: reference CPU device")), String.join("\n", err));
        assertTrue(err.stream().noneMatch(l -> l.startsWith("INFO") || l.contains("sayOnce")), String.join("\n", err));
    }
}
