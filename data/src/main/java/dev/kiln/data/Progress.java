package dev.kiln.data;

import java.io.Console;
import java.io.PrintStream;
import java.io.PrintWriter;

/**
 * Where long-running data work (downloads, unpacking) reports what it is doing. Library code only calls it; the
 * CLI decides how it looks. Not a logger: there are no levels, and {@link #NONE} drops everything.
 */
public interface Progress {
    /** One complete line for a person, e.g. a note that a mirror failed and the next one is tried. */
    void message(String line);

    /**
     * {@code done} bytes of {@code what} so far, out of {@code total} (-1 when unknown). The last call for a
     * {@code what} has {@code done == total}, which is how a display knows that it finished.
     */
    void bytes(String what, long done, long total);

    /** Reports nothing. */
    Progress NONE = new Progress() {
        @Override
        public void message(String line) {
        }

        @Override
        public void bytes(String what, long done, long total) {
        }
    };

    /**
     * Progress for a person at a console: on a terminal one line redrawn in place; in a pipe or a log file only a
     * start and a finish line per item, so logs stay readable.
     */
    static Progress console(PrintStream out) {
        return console(new PrintWriter(out, true));
    }

    /** {@link #console(PrintStream)} for a writer, such as a picocli command's error stream. */
    static Progress console(PrintWriter out) {
        Console c = System.console();
        return new ConsoleProgress(out, c != null && c.isTerminal());
    }
}
