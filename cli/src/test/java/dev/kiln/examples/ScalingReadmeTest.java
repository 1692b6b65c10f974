package dev.kiln.examples;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Keeps the README's data-parallel example true: it shows {@link TrainParallel} verbatim (MpiTrainTest runs it). */
class ScalingReadmeTest {
    private static final Path SOURCE = Path.of("src/test/java/dev/kiln/examples/TrainParallel.java");
    private static final Path README = Path.of("../README.md");

    @Test
    void theReadmeShowsTheParallelExampleVerbatim() throws IOException {
        String source = Files.readString(SOURCE).replace("\r\n", "\n");
        String snippet = source.substring(source.indexOf("import ")).strip();
        String readme = Files.readString(README).replace("\r\n", "\n");
        assertTrue(readme.contains("## Scaling out"), "README.md has a \"## Scaling out\" section");
        assertTrue(readme.contains("```java\n" + snippet + "\n```"),
                "README.md's Scaling out section must show " + SOURCE + " from its first import, verbatim");
    }
}
