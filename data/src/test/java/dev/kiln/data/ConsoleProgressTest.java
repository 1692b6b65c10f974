package dev.kiln.data;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsoleProgressTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(bytes, StandardCharsets.UTF_8), true);

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void inAPipeOnlyStartAndFinishLines() {
        Progress p = new ConsoleProgress(out, false);
        p.bytes("a.gz", 10, 2_000_000);
        p.bytes("a.gz", 1_000_000, 2_000_000);
        p.bytes("a.gz", 2_000_000, 2_000_000);
        p.message("note");
        p.bytes("b", 500, -1);
        p.bytes("b", 700, 700);
        assertEquals(String.join(System.lineSeparator(), "a.gz: 2.0 MB ...", "a.gz: done, 2.0 MB", "note",
                "b: size unknown ...", "b: done, 0.7 kB", ""), text());
    }

    @Test
    void onATerminalOneLineIsRedrawn() {
        Progress p = new ConsoleProgress(out, true);
        p.bytes("a.gz", 0, 4_000_000);
        p.bytes("a.gz", 4_000_000, 4_000_000);
        p.message("next");
        String t = text();
        assertTrue(t.startsWith("\ra.gz: 0.0 kB of 4.0 MB (0%)"), t);
        assertTrue(t.contains("\ra.gz: 4.0 MB of 4.0 MB (100%)"), t);
        assertEquals(2, t.split(System.lineSeparator(), -1).length - 1, "one newline ends the redrawn line, one the message: " + t);
        assertTrue(t.endsWith("next" + System.lineSeparator()), t);
    }
}
