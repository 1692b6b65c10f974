package dev.kiln.data;

/**
 * A failure a person can act on: bad input, missing data, no GPU, a corrupt file. Its message is one line that
 * says what went wrong; {@link #hint()} says how to fix it. The CLI prints both without a stack trace and exits 1.
 * Programming errors stay ordinary exceptions.
 */
public class KilnException extends RuntimeException {
    private final String hint;

    public KilnException(String message) {
        this(message, null, null);
    }

    public KilnException(String message, String hint) {
        this(message, hint, null);
    }

    public KilnException(String message, String hint, Throwable cause) {
        super(message, cause);
        this.hint = hint;
    }

    /** How to fix it, or null. */
    public String hint() {
        return hint;
    }

    /** The message, then {@code "; hint: ..."} when there is a hint: the one line the CLI prints. */
    public String oneLine() {
        return hint == null ? getMessage() : getMessage() + "; hint: " + hint;
    }
}
