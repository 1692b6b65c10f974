package dev.kiln.engine.report;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A small streaming JSON writer for metrics.json and bench.json: keys in the order written (so the files are
 * stable and diffable), two-space indentation, arrays of plain values on one line. NaN and infinities become
 * {@code null}, since JSON has no spelling for them. Not a general-purpose library: no parsing, no reflection.
 */
final class Json {
    private final StringBuilder out = new StringBuilder();
    /** Per open container: whether it has an element yet, and whether it is written on one line. */
    private final Deque<boolean[]> open = new ArrayDeque<>();
    private boolean afterName;

    Json beginObject() {
        return begin('{', false);
    }

    /** Opens an array; {@code inline} puts all of it on one line (for numbers and short strings). */
    Json beginArray(boolean inline) {
        return begin('[', inline);
    }

    Json endObject() {
        return end('}');
    }

    Json endArray() {
        return end(']');
    }

    /** The next object member's name. */
    Json name(String name) {
        separate();
        string(name);
        out.append(": ");
        afterName = true;
        return this;
    }

    Json value(String s) {
        separate();
        if (s == null) {
            out.append("null");
        } else {
            string(s);
        }
        return this;
    }

    Json value(long v) {
        separate();
        out.append(v);
        return this;
    }

    Json value(double v) {
        separate();
        if (!Double.isFinite(v)) {
            out.append("null");
        } else if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            out.append((long) v); // 3 rather than 3.0
        } else {
            out.append(v); // Double.toString: the shortest repr that reads back exactly, e.g. 0.1 or 1.0E-4
        }
        return this;
    }

    Json nullValue() {
        separate();
        out.append("null");
        return this;
    }

    /** name: value shorthands. */
    Json field(String name, String v) { return name(name).value(v); }

    Json field(String name, long v) { return name(name).value(v); }

    Json field(String name, double v) { return name(name).value(v); }

    @Override
    public String toString() {
        if (!open.isEmpty()) {
            throw new IllegalStateException(open.size() + " JSON containers still open");
        }
        return out + "\n";
    }

    private Json begin(char bracket, boolean inline) {
        separate();
        out.append(bracket);
        boolean parentInline = !open.isEmpty() && open.peek()[1];
        open.push(new boolean[] {false, inline || parentInline});
        return this;
    }

    private Json end(char bracket) {
        boolean[] top = open.pop();
        if (top[0] && !top[1]) {
            newline();
        }
        out.append(bracket);
        return this;
    }

    /** Writes the comma and line break that go before a value or a name. */
    private void separate() {
        if (afterName) {
            afterName = false;
            return;
        }
        if (open.isEmpty()) {
            return;
        }
        boolean[] top = open.peek();
        if (top[0]) {
            out.append(top[1] ? ", " : ",");
        }
        top[0] = true;
        if (!top[1]) {
            newline();
        }
    }

    private void newline() {
        out.append('\n').append("  ".repeat(open.size()));
    }

    private void string(String s) {
        dev.kiln.engine.json.Json.writeString(out, s);
    }
}
