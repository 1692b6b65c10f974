package dev.kiln.cli;

import dev.kiln.engine.device.Devices;

import java.io.PrintWriter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The engine reports through {@link System.Logger} (backed by java.util.logging) and never prints; the CLI shows
 * its warnings as {@code warning: ...} lines on the command's error stream. Its INFO lines (why a device was not
 * usable) are left out: the CLI's own {@code device:} line already says that.
 */
final class EngineLog {
    private static final Logger LOGGER = Logger.getLogger(Devices.LOGGER); // held: java.util.logging keeps loggers weakly
    private static volatile PrintWriter err;

    static {
        LOGGER.setUseParentHandlers(false);
        LOGGER.addHandler(new Handler() {
            @Override
            public void publish(LogRecord record) {
                PrintWriter to = err;
                if (to != null && record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    to.println("warning: " + record.getMessage());
                    to.flush();
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
    }

    private EngineLog() {
    }

    /** Sends the engine's warnings to {@code to} from now on. */
    static void to(PrintWriter to) {
        err = to;
    }
}
