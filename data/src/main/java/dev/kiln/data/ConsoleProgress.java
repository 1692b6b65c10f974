package dev.kiln.data;

import java.io.PrintWriter;
import java.util.Locale;

/** {@link Progress#console}: one redrawn line on a terminal, start and finish lines otherwise. */
final class ConsoleProgress implements Progress {
    private static final long REDRAW_NANOS = 100_000_000L; // 10 redraws a second are enough for an eye

    private final PrintWriter out;
    private final boolean terminal;
    private String current;    // the item being reported, null between items
    private boolean lineOpen;  // a redrawn line without its newline is on screen
    private long lastDraw;

    ConsoleProgress(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public synchronized void message(String line) {
        closeLine();
        out.println(line);
        out.flush();
    }

    @Override
    public synchronized void bytes(String what, long done, long total) {
        boolean finished = total >= 0 && done >= total;
        boolean started = !what.equals(current);
        if (started) {
            closeLine();
            current = what;
            if (!terminal) {
                out.println(what + ": " + (total >= 0 ? mb(total) : "size unknown") + " ...");
            }
        }
        if (terminal) {
            long now = System.nanoTime();
            if (started || finished || now - lastDraw >= REDRAW_NANOS) {
                String pct = total > 0 ? String.format(Locale.ROOT, " (%d%%)", done * 100 / total) : "";
                out.print("\r" + what + ": " + mb(done) + (total >= 0 ? " of " + mb(total) : "") + pct + "   ");
                lineOpen = true;
                lastDraw = now;
            }
        }
        if (finished) {
            if (terminal) {
                closeLine();
            } else {
                out.println(what + ": done, " + mb(done));
            }
            current = null;
        }
        out.flush();
    }

    private void closeLine() {
        if (lineOpen) {
            out.println();
            lineOpen = false;
        }
    }

    static String mb(long bytes) {
        return bytes < 1_000_000 ? String.format(Locale.ROOT, "%.1f kB", bytes / 1e3)
                : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
