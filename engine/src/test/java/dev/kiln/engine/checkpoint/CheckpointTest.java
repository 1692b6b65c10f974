package dev.kiln.engine.checkpoint;

import dev.kiln.data.KilnException;
import dev.kiln.engine.checkpoint.SafeTensors.Entry;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.train.TrainingState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint: exact round trips, PyTorch state-dict naming, and a clear error for each way a file can be wrong. */
class CheckpointTest {
    private static final LayerSpec SPEC = new LayerSpec(5, 4, 3, 2); // three Linear layers
    private static final Optimizer ADAM = new Optimizer.Adam(3e-3, 0.8, 0.99, 1e-7, 0.5, false);
    private static final Optimizer SGD = new Optimizer.Sgd(0.05, 0.9, 1e-4);

    @TempDir
    Path dir;

    private static float[] random(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return v;
    }

    @Test
    void everyTrainingSettingTravelsInTheCheckpointNotOnlyThroughTheCli() {
        // batch size and schedule were written only by the CLI: a state saved through the API resumed with defaults
        TrainingState s = state(SGD);
        TrainingState custom = new TrainingState(s.layers(), s.optimizer(), s.parameters(), s.optimizerState(), s.step(),
                s.epochsCompleted(), -7, 32, new dev.kiln.engine.optim.Schedule.StepDecay(3, 0.5));
        TrainingState back = Checkpoint.load(saved(custom)).state();
        assertEquals(32, back.batchSize());
        assertEquals(custom.schedule(), back.schedule());
        assertEquals(-7, back.seed(), "a negative seed, which kiln train accepts, loads back");
        assertEquals(SGD, back.optimizer());
        dev.kiln.engine.train.TrainConfig resumed = dev.kiln.engine.train.TrainConfig.defaults().resuming(back);
        assertEquals(32, resumed.batchSize());
        assertEquals(custom.schedule(), resumed.schedule());
        assertEquals(-7, resumed.seed());
    }

    @Test
    void nonFiniteParametersAreRefusedNamingTheTensor() {
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY}) {
            TrainingState s = state(ADAM);
            float[] params = s.parameters().clone();
            params[SPEC.biasOffset(1) + 1] = bad; // 2.bias[1]
            KilnException e = assertThrows(KilnException.class, () -> Checkpoint.load(saved(s.withParameters(params))));
            assertTrue(e.getMessage().contains("tensor '2.bias' holds " + bad + " at index 1"), e.getMessage());
        }
        TrainingState s = state(ADAM);
        s.optimizerState()[1][0] = Float.NaN;
        KilnException e = assertThrows(KilnException.class, () -> Checkpoint.load(saved(s)));
        assertTrue(e.getMessage().contains("tensor 'optimizer.v.0.weight' holds NaN"), e.getMessage());
    }

    private static TrainingState state(Optimizer optimizer) {
        int q = SPEC.parameterCount();
        float[][] opt = new float[optimizer.stateNames().size()][];
        for (int s = 0; s < opt.length; s++) {
            opt[s] = random(q, 100 + s);
        }
        opt[0][3] = Float.MIN_VALUE; // a subnormal and a negative zero survive bit for bit
        opt[0][4] = -0f;
        return new TrainingState(SPEC, optimizer, random(q, 7), opt, 123, 4, 99);
    }

    private Path saved(TrainingState s) {
        Path file = dir.resolve("model.safetensors");
        Checkpoint.save(file, s, Map.of("kiln_version", "test"));
        return file;
    }

    private static void assertBits(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), "index " + i);
        }
    }

    @Test
    void adamAndSgdStatesRoundTripExactly() {
        for (Optimizer o : List.of(ADAM, SGD, Optimizer.Adam.adamW(1e-3, 0.01))) {
            TrainingState s = state(o);
            Checkpoint.Loaded back = Checkpoint.load(saved(s));
            assertTrue(back.hasOptimizerState());
            TrainingState t = back.state();
            assertEquals(SPEC, t.layers());
            assertEquals(o, t.optimizer());
            assertBits(s.parameters(), t.parameters());
            assertEquals(s.optimizerState().length, t.optimizerState().length);
            for (int i = 0; i < s.optimizerState().length; i++) {
                assertBits(s.optimizerState()[i], t.optimizerState()[i]);
            }
            assertEquals(123, t.step());
            assertEquals(4, t.epochsCompleted());
            assertEquals(99, t.seed());
        }
    }

    @Test
    void tensorsAreNamedShapedAndOrderedAsNnSequentialStateDict() {
        TrainingState s = state(ADAM);
        SafeTensors.Content c = SafeTensors.read(saved(s));
        List<String> expected = new ArrayList<>(List.of("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"));
        for (String m : List.of("m", "v")) {
            for (String n : List.of("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias")) {
                expected.add("optimizer." + m + "." + n);
            }
        }
        assertEquals(expected, List.copyOf(c.tensors().keySet()));
        assertArrayEquals(new int[]{4, 5}, c.tensors().get("0.weight").shape()); // (O, I), as nn.Linear.weight
        assertArrayEquals(new int[]{4}, c.tensors().get("0.bias").shape());
        assertArrayEquals(new int[]{3, 4}, c.tensors().get("2.weight").shape());
        assertArrayEquals(new int[]{3}, c.tensors().get("2.bias").shape());
        assertArrayEquals(new int[]{2, 3}, c.tensors().get("4.weight").shape());
        assertArrayEquals(new int[]{2}, c.tensors().get("4.bias").shape());
        assertArrayEquals(new int[]{2, 3}, c.tensors().get("optimizer.v.4.weight").shape());
        // The model tensors, concatenated in file order, are the flat parameter vector: state-dict order.
        float[] concat = new float[SPEC.parameterCount()];
        int at = 0;
        for (String name : expected.subList(0, 6)) {
            float[] d = c.tensors().get(name).data();
            System.arraycopy(d, 0, concat, at, d.length);
            at += d.length;
        }
        assertBits(s.parameters(), concat);
        // Row-major (O, I): element [o][i] of 0.weight is weight o's input i.
        assertEquals(s.parameters()[SPEC.weightOffset(0) + 2 * 5 + 3], c.tensors().get("0.weight").data()[2 * 5 + 3]);
    }

    @Test
    void metadataNamesFormatLayersOptimizerAndRun() {
        Map<String, String> adam = SafeTensors.read(saved(state(ADAM))).metadata();
        assertEquals("kiln-mlp/1", adam.get("format"));
        assertEquals("5,4,3,2", adam.get("layers"));
        assertEquals("relu", adam.get("activation"));
        assertEquals("adam", adam.get("optimizer"));
        assertEquals(0.003, Double.parseDouble(adam.get("lr")));
        assertEquals(0.8, Double.parseDouble(adam.get("beta1")));
        assertEquals(0.99, Double.parseDouble(adam.get("beta2")));
        assertEquals(1e-7, Double.parseDouble(adam.get("eps")));
        assertEquals(0.5, Double.parseDouble(adam.get("weight_decay")));
        assertEquals("123", adam.get("step"));
        assertEquals("4", adam.get("epoch"));
        assertEquals("99", adam.get("seed"));
        assertEquals("test", adam.get("kiln_version"));

        Map<String, String> sgd = SafeTensors.read(saved(state(SGD))).metadata();
        assertEquals("sgd", sgd.get("optimizer"));
        assertEquals(0.05, Double.parseDouble(sgd.get("lr")));
        assertEquals(0.9, Double.parseDouble(sgd.get("momentum")));
        assertEquals(1e-4, Double.parseDouble(sgd.get("weight_decay")));
        assertEquals("adamw", SafeTensors.read(saved(state(Optimizer.Adam.adamW(1e-3, 0.01)))).metadata().get("optimizer"));
    }

    @Test
    void extraMetadataCannotOverrideTheKilnEntries() {
        Path file = dir.resolve("x.safetensors");
        Checkpoint.save(file, state(ADAM), Map.of("step", "0", "note", "hello"));
        Checkpoint.Loaded back = Checkpoint.load(file);
        assertEquals(123, back.state().step());
        assertEquals("hello", back.metadata().get("note"));
    }

    /** Saves a good Adam checkpoint, lets {@code edit} change its tensors and metadata, and writes it back. */
    private Path edited(Consumer<Map<String, Entry>> tensors, Consumer<Map<String, String>> meta) {
        Path file = saved(state(ADAM));
        SafeTensors.Content c = SafeTensors.read(file);
        Map<String, Entry> t = new LinkedHashMap<>(c.tensors());
        Map<String, String> m = new LinkedHashMap<>(c.metadata());
        tensors.accept(t);
        meta.accept(m);
        SafeTensors.write(file, t, m);
        return file;
    }

    private static String failure(Path file) {
        KilnException e = assertThrows(KilnException.class, () -> Checkpoint.load(file));
        assertFalse(e.oneLine().contains("\n"), e.oneLine());
        return e.getMessage();
    }

    @Test
    void aMissingTensorIsNamed() {
        String msg = failure(edited(t -> t.remove("2.bias"), m -> { }));
        assertTrue(msg.contains("no tensor '2.bias'") && msg.contains("5,4,3,2"), msg);
    }

    @Test
    void aShapeThatDisagreesWithTheDeclaredLayersIsNamed() {
        String msg = failure(edited(t -> t.put("2.weight", new Entry(new int[]{4, 3}, new float[12])), m -> { }));
        assertTrue(msg.contains("'2.weight' has shape [4, 3]") && msg.contains("need [3, 4]"), msg);
        // The declared layers are what is checked: a whole consistent network of another shape is refused too.
        msg = failure(edited(t -> { }, m -> m.put("layers", "5,4,3,3")));
        assertTrue(msg.contains("'4.weight' has shape [2, 3]"), msg);
    }

    @Test
    void anUnknownOptimizerIsRefused() {
        String msg = failure(edited(t -> { }, m -> m.put("optimizer", "lion")));
        assertTrue(msg.contains("optimizer 'lion'"), msg);
    }

    @Test
    void badStepOrEpochMetadataIsRefused() {
        assertTrue(failure(edited(t -> { }, m -> m.put("step", "12x"))).contains("'step' is '12x'"));
        assertTrue(failure(edited(t -> { }, m -> m.put("step", "-1"))).contains("'step' is '-1'"));
        assertTrue(failure(edited(t -> { }, m -> m.put("epoch", "99999999999"))).contains("'epoch'"));
        assertTrue(failure(edited(t -> { }, m -> m.put("lr", "fast"))).contains("'lr' is 'fast'"));
    }

    @Test
    void anUnknownExtraTensorIsRefused() {
        String msg = failure(edited(t -> t.put("6.weight", new Entry(new int[]{1, 2}, new float[2])), m -> { }));
        assertTrue(msg.contains("tensor '6.weight'"), msg);
        // under the optimizer prefix too: state the declared optimizer does not keep
        msg = failure(edited(t -> t.put("optimizer.velocity.0.bias", new Entry(new int[]{4}, new float[4])), m -> { }));
        assertTrue(msg.contains("tensor 'optimizer.velocity.0.bias'"), msg);
    }

    @Test
    void partOfTheOptimizerStateIsRefusedRatherThanZeroed() {
        String msg = failure(edited(t -> t.keySet().removeIf(k -> k.startsWith("optimizer.v.")), m -> { }));
        assertTrue(msg.contains("only part of the"), msg);
    }

    @Test
    void anotherFormatVersionIsRefused() {
        String msg = failure(edited(t -> { }, m -> m.put("format", "kiln-mlp/2")));
        assertTrue(msg.contains("'kiln-mlp/2'") && msg.contains("kiln-mlp/1"), msg);
    }

    @Test
    void aMissingFileIsNamed() {
        Path file = dir.resolve("nothing.safetensors");
        String msg = failure(file);
        assertTrue(msg.contains(file.toString()), msg);
    }

    @Test
    void aPyTorchStateDictWithoutKilnMetadataLoads() {
        TrainingState s = state(ADAM);
        Path file = dir.resolve("torch.safetensors");
        Map<String, Entry> t = new LinkedHashMap<>();
        // safetensors.torch.save_file writes keys sorted; the order must not matter
        for (String name : List.of("0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight")) {
            t.put(name, SafeTensors.read(saved(s)).tensors().get(name));
        }
        for (Map<String, String> meta : List.of(Map.<String, String>of(), Map.of("format", "pt"))) {
            SafeTensors.write(file, t, meta);
            Checkpoint.Loaded back = Checkpoint.load(file);
            assertFalse(back.hasOptimizerState());
            assertEquals(SPEC, back.state().layers());
            assertBits(s.parameters(), back.state().parameters());
            assertEquals(0, back.state().step());
            assertEquals(0, back.state().epochsCompleted());
            for (float[] v : back.state().optimizerState()) {
                assertBits(new float[SPEC.parameterCount()], v);
            }
        }
    }

    @Test
    void aPyTorchFileWhoseLayersDoNotChainIsRefused() throws IOException {
        Path file = dir.resolve("torch.safetensors");
        Map<String, Entry> t = new LinkedHashMap<>();
        t.put("0.weight", new Entry(new int[]{4, 5}, new float[20]));
        t.put("0.bias", new Entry(new int[]{4}, new float[4]));
        t.put("2.weight", new Entry(new int[]{3, 6}, new float[18]));
        t.put("2.bias", new Entry(new int[]{3}, new float[3]));
        SafeTensors.write(file, t, Map.of());
        assertTrue(failure(file).contains("2.weight takes 6 inputs but the layer before gives 4"));
        SafeTensors.write(file, Map.of("fc.weight", new Entry(new int[]{1}, new float[1])), Map.of());
        assertTrue(failure(file).contains("no 0.weight"));
    }

    @Test
    void aFailedSaveLeavesTheOldCheckpointIntact() throws IOException {
        Path file = saved(state(ADAM));
        byte[] before = Files.readAllBytes(file);
        float[][] shortState = {new float[3], new float[SPEC.parameterCount()]}; // m too short
        TrainingState bad = new TrainingState(SPEC, ADAM, random(SPEC.parameterCount(), 1), shortState, 1, 5, 1);
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.save(file, bad, Map.of()));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file.getFileName().toString()), files.map(p -> p.getFileName().toString()).toList(),
                    "no temporary file is left behind");
        }
    }
}
