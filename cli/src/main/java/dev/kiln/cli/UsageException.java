package dev.kiln.cli;

import dev.kiln.data.KilnException;

/** A bad flag value found after parsing (an unknown optimizer, a negative count): a usage error, exit 2. */
final class UsageException extends KilnException {
    UsageException(String message) {
        super(message);
    }

    UsageException(String message, String hint) {
        super(message, hint);
    }
}
