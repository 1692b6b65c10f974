package dev.kiln.engine.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Kiln's one JSON library, Jackson, set up once for every file Kiln reads or writes as JSON: safetensors headers,
 * the metrics JSONL, metrics.json and bench.json. Reading is strict (duplicate keys are errors) and bounded:
 * at most {@value #MAX_DEPTH} levels of nesting, strings and documents of at most {@value #MAX_BYTES} bytes, so a
 * hostile header fails with a parse error instead of exhausting the stack or the heap. Keys are snake_case.
 */
public final class Json {
    /** Deepest nesting read; a safetensors header needs 3, a Kiln report 4. */
    public static final int MAX_DEPTH = 64;
    /** Largest document and string read (the safetensors reference implementation's header limit). */
    public static final int MAX_BYTES = 100_000_000;

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH).maxStringLength(MAX_BYTES).maxDocumentLength(MAX_BYTES).build())
            .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final ObjectMapper PRETTY = MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    /** A new, empty object whose keys keep the order they are put in. */
    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /**
     * Parses one JSON document; only whitespace may follow it.
     *
     * @throws JacksonException on a syntax error or a document beyond the limits; its message says which
     */
    public static JsonNode parse(byte[] utf8) throws JacksonException {
        try {
            return MAPPER.readTree(utf8);
        } catch (JacksonException e) {
            throw e;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("reading from memory cannot fail with I/O", e);
        }
    }

    /** Parses one JSON document from text (see {@link #parse(byte[])}). */
    public static JsonNode parse(String text) throws JacksonException {
        return MAPPER.readTree(text);
    }

    /** {@code node} on one line, without spaces (a safetensors header, a metrics line). */
    public static String compact(JsonNode node) {
        return write(MAPPER, node);
    }

    /** {@code node} indented over several lines, ending with a line break (metrics.json, bench.json). */
    public static String pretty(JsonNode node) {
        return write(PRETTY, node) + "\n";
    }

    /** {@code v} as a JSON number, or null for NaN and infinities (JSON has no spelling for them). */
    public static JsonNode number(double v) {
        return Double.isFinite(v) ? JsonNodeFactory.instance.numberNode(v) : JsonNodeFactory.instance.nullNode();
    }

    /** The first line of a Jackson error, without its location dump: for one-line messages. */
    public static String describe(JacksonException e) {
        String m = e.getOriginalMessage();
        m = m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
        var where = e.getLocation();
        return where == null || where.getCharOffset() < 0 && where.getByteOffset() < 0 ? m
                : m + " at byte " + Math.max(where.getCharOffset(), where.getByteOffset());
    }

    private static String write(ObjectMapper mapper, JsonNode node) {
        try {
            return mapper.writeValueAsString(node);
        } catch (JacksonException e) {
            throw new IllegalStateException("a JSON tree Kiln built cannot be written: " + e.getOriginalMessage(), e);
        }
    }
}
