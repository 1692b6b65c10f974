package dev.kiln.cli;

import dev.kiln.data.KilnException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code kiln} command. Each subcommand is its own class; this one only wires them and turns failures into
 * one line and an exit code: 2 for a bad flag or value, 1 for a runtime failure.
 */
@Command(name = "kiln",
        mixinStandardHelpOptions = true,
        versionProvider = Kiln.Version.class,
        description = "Train neural networks on the JVM: CPU (Vector API) or NVIDIA GPU (cuBLAS + PTX).",
        subcommands = {
                TrainCommand.class,
                EvalCommand.class,
                PredictCommand.class,
                BenchCommand.class,
                DataCommand.class,
                DevicesCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class Kiln {

    /** {@code --verbose}: show stack traces of failures. Shared by every subcommand through this mixin. */
    public static final class Verbosity {
        static volatile boolean verbose;

        @CommandLine.Option(names = "--verbose", description = "Show the stack trace of a failure.")
        void setVerbose(boolean v) {
            verbose = v;
        }
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns the exit code; for tests and embedding. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        EngineLog.to(err);
        CommandLine cl = new CommandLine(new Kiln());
        cl.setOut(out);
        cl.setErr(err);
        return run(cl, args);
    }

    /**
     * Runs {@code cl} (Kiln or a test's command) with Kiln's failure handling: an exception, and an error such as
     * running out of memory (which picocli lets through), is one {@code kiln:} line and exit 1.
     */
    static int run(CommandLine cl, String[] args) {
        cl.setParameterExceptionHandler(Kiln::usage);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> e instanceof UsageException u
                ? usage(commandLine, u.getMessage(), u.hint()) : fail(commandLine.getErr(), e));
        try {
            return cl.execute(args);
        } catch (Error e) { // OutOfMemoryError, StackOverflowError: the heap or stack this JVM has is spent
            return fail(cl.getErr(), e);
        }
    }

    /**
     * A bad command line: one line with picocli's complaint, a "did you mean" where there is one, and where to
     * read more (the usage itself, 50-odd lines, would bury the complaint); exit 2.
     */
    private static int usage(CommandLine.ParameterException e, String[] args) {
        String hint = null;
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            hint = "did you mean " + String.join(" or ", u.getSuggestions().stream().limit(3).toList()) + "?";
        }
        if (e.getMessage().startsWith("Missing required subcommand")) {
            e.getCommandLine().usage(e.getCommandLine().getErr()); // short, and the list is the answer
        }
        String message = e.getMessage().strip().replace('\n', ' ');
        return usage(e.getCommandLine(), Character.toLowerCase(message.charAt(0)) + message.substring(1), hint);
    }

    private static int usage(CommandLine cl, String message, String hint) {
        String help = "see `" + cl.getCommandSpec().qualifiedName() + " --help`";
        cl.getErr().println("kiln: " + message + "; hint: " + (hint == null ? help : hint + " (" + help + ")"));
        cl.getErr().flush();
        return 2;
    }

    private static int fail(PrintWriter err, Throwable e) {
        err.println("kiln: " + describe(e));
        if (Verbosity.verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    /** One line for a failure: a {@link KilnException}'s own words, anything else named for what it is. */
    static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof KilnException k) {
                return k.oneLine();
            }
        }
        if (e instanceof OutOfMemoryError) {
            return "out of Java heap memory; hint: a smaller --batch-size or --limit, or more heap (JAVA_OPTS=-Xmx8g ./kiln ...)";
        }
        if (e instanceof StackOverflowError) {
            return "out of stack (StackOverflowError); hint: rerun with --verbose and report it";
        }
        String msg = e.getMessage() == null ? "" : ": " + e.getMessage();
        return "internal error (" + e.getClass().getSimpleName() + msg + "); hint: rerun with --verbose and report it";
    }

    /** This build's version, or "dev" when run from classes rather than the jar. */
    static String version() {
        String v = Kiln.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Kiln.class.getPackage().getImplementationVersion();
            return new String[]{"kiln " + (v == null ? "(development build)" : v),
                    "Java " + Runtime.version() + " on " + System.getProperty("os.name") + " " + System.getProperty("os.arch")};
        }
    }
}
