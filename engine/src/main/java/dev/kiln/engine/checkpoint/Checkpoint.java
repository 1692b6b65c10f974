package dev.kiln.engine.checkpoint;

import dev.kiln.data.KilnException;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.Schedule;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.TrainingState;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Kiln model on disk: a safetensors file whose tensors are named as PyTorch's {@code nn.Sequential} state_dict
 * would name them ({@code 0.weight} (O, I), {@code 0.bias} (O), {@code 2.weight}, ...), so
 * {@code torch.nn.Sequential(Linear, ReLU, ..., Linear).load_state_dict(...)} takes it as it is. The optimizer's
 * state follows under its own prefix ({@code optimizer.m.0.weight}, ...) so {@code --resume} continues exactly;
 * PyTorch users drop those keys ({@code strict=False}, or filter on the prefix).
 *
 * <p>Metadata (all strings, as safetensors requires): {@code format}, {@code layers}, {@code activation},
 * {@code optimizer} and its hyperparameters, {@code step}, {@code epoch}, {@code seed}, {@code batch_size},
 * {@code schedule}: every setting a resumed run needs. A file without them (written by PyTorch) loads with
 * Kiln's defaults.
 */
public final class Checkpoint {
    /** The format written; loading accepts this version. */
    public static final String FORMAT = "kiln-mlp/1";
    /** What {@code safetensors.torch.save_model} and Hugging Face write as format: a PyTorch file, loaded as one. */
    static final String PYTORCH_FORMAT = "pt";
    /** Prefix of optimizer-state tensors. */
    public static final String OPTIMIZER_PREFIX = "optimizer.";

    private Checkpoint() {
    }

    /**
     * What a file held.
     *
     * @param state             parameters, optimizer state (zeros when the file has none), step, epoch, seed
     * @param hasOptimizerState whether the file carried optimizer state (a PyTorch-written file does not)
     * @param metadata          every metadata entry of the file
     */
    public record Loaded(TrainingState state, boolean hasOptimizerState, Map<String, String> metadata) {
    }

    /** Writes {@code state} to {@code file} atomically: an existing file is replaced only by a complete one. */
    public static void save(Path file, TrainingState state, Map<String, String> extraMetadata) {
        LayerSpec spec = state.layers();
        for (float[] vector : state.optimizerState()) {
            // checked before anything is written: a short vector would otherwise be saved padded with zeros
            if (vector.length != spec.parameterCount()) {
                throw new IllegalArgumentException("optimizer state of " + vector.length + " values for a " + spec
                        + " network of " + spec.parameterCount() + " parameters");
            }
        }
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>();
        addLayers(tensors, "", spec, state.parameters());
        List<String> names = state.optimizer().stateNames();
        for (int s = 0; s < names.size(); s++) {
            addLayers(tensors, OPTIMIZER_PREFIX + names.get(s) + ".", spec, state.optimizerState()[s]);
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("layers", spec.toString());
        meta.put("activation", "relu");
        meta.putAll(optimizerMetadata(state.optimizer()));
        meta.put("step", Long.toString(state.step()));
        meta.put("epoch", Integer.toString(state.epochsCompleted()));
        meta.put("seed", Long.toString(state.seed()));
        meta.put("batch_size", Integer.toString(state.batchSize()));
        meta.put("schedule", state.schedule().toString());
        if (extraMetadata != null) {
            extraMetadata.forEach(meta::putIfAbsent);
        }
        SafeTensors.write(file, tensors, meta);
    }

    /** Splits a flat (PyTorch state-dict ordered) vector into one named tensor per weight and bias. */
    private static void addLayers(Map<String, SafeTensors.Entry> out, String prefix, LayerSpec spec, float[] flat) {
        for (int l = 0; l < spec.layerCount(); l++) {
            int in = spec.inputs(l), o = spec.outputs(l);
            int w = spec.weightOffset(l), b = spec.biasOffset(l);
            out.put(prefix + spec.weightName(l), new SafeTensors.Entry(new int[]{o, in}, Arrays.copyOfRange(flat, w, w + o * in)));
            out.put(prefix + spec.biasName(l), new SafeTensors.Entry(new int[]{o}, Arrays.copyOfRange(flat, b, b + o)));
        }
    }

    /**
     * Reads a checkpoint and checks it against itself: the declared layer spec, every tensor's presence and
     * shape, the optimizer's name and hyperparameters. Files without Kiln metadata (a PyTorch state_dict saved
     * with safetensors) load too: the layer spec is then read off the weight shapes.
     */
    public static Loaded load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new KilnException("no checkpoint at " + file, "train one with `kiln train --checkpoint " + file + "`");
        }
        SafeTensors.Content content = SafeTensors.read(file);
        Map<String, String> meta = content.metadata();
        Map<String, SafeTensors.Entry> tensors = content.tensors();
        String format = meta.get("format");
        if (format != null && !format.equals(FORMAT) && !format.equals(PYTORCH_FORMAT)) {
            throw new KilnException(file + " is in format '" + format + "', this Kiln reads " + FORMAT,
                    "use the Kiln version that wrote it");
        }
        String activation = meta.getOrDefault("activation", "relu");
        if (!activation.equals("relu")) {
            throw new KilnException(file + " uses activation '" + activation + "'; Kiln's networks use relu");
        }
        LayerSpec spec = meta.containsKey("layers") ? parseSpec(file, meta.get("layers")) : inferSpec(file, tensors);
        float[] params = readLayers(file, tensors, "", spec, true);
        Optimizer optimizer = optimizerFrom(file, meta);
        List<String> names = optimizer.stateNames();
        float[][] state = new float[names.size()][];
        int present = 0;
        for (int s = 0; s < names.size(); s++) {
            state[s] = readLayers(file, tensors, OPTIMIZER_PREFIX + names.get(s) + ".", spec, false);
            present += state[s] == null ? 0 : 1;
        }
        boolean hasState = present == names.size();
        if (present > 0 && !hasState) {
            throw new KilnException(file + " holds only part of the " + optimizer + " state " + names,
                    "the file is incomplete; resume from another checkpoint or train afresh");
        }
        if (!hasState) {
            for (int s = 0; s < names.size(); s++) {
                state[s] = new float[spec.parameterCount()];
            }
        }
        long step = hasState ? longMeta(file, meta, "step", 0) : 0;
        long epoch = longMeta(file, meta, "epoch", 0);
        if (epoch > Integer.MAX_VALUE) {
            throw new KilnException(file + ": metadata 'epoch' is " + epoch + ", more epochs than Kiln counts");
        }
        long seed = seedMeta(file, meta);
        long batch = longMeta(file, meta, "batch_size", TrainConfig.defaults().batchSize());
        if (batch < 1 || batch > Integer.MAX_VALUE) {
            throw new KilnException(file + ": metadata 'batch_size' is " + batch + ", not a positive batch size");
        }
        Schedule schedule = scheduleMeta(file, meta);
        for (String name : tensors.keySet()) {
            if (!isLayerTensor(spec, name) && !isOptimizerTensor(spec, names, name)) {
                throw new KilnException(file + " has a tensor '" + name + "' that a " + spec + " network trained with "
                        + meta.getOrDefault("optimizer", "adam") + " does not have",
                        "is this a checkpoint of another kind of model?");
            }
        }
        return new Loaded(new TrainingState(spec, optimizer, params, state, step, (int) epoch, seed,
                (int) batch, schedule), hasState, meta);
    }

    private static boolean isLayerTensor(LayerSpec spec, String name) {
        for (int l = 0; l < spec.layerCount(); l++) {
            if (name.equals(spec.weightName(l)) || name.equals(spec.biasName(l))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isOptimizerTensor(LayerSpec spec, List<String> stateNames, String name) {
        for (String s : stateNames) {
            String prefix = OPTIMIZER_PREFIX + s + ".";
            if (name.startsWith(prefix) && isLayerTensor(spec, name.substring(prefix.length()))) {
                return true;
            }
        }
        return false;
    }

    private static LayerSpec parseSpec(Path file, String layers) {
        try {
            return LayerSpec.parse(layers);
        } catch (KilnException e) {
            throw new KilnException(file + ": its metadata declares layers '" + layers + "': " + e.getMessage());
        }
    }

    /** 0.weight (O0, I), 2.weight (O1, O0), ...: the sizes chain through the weights' shapes. */
    private static LayerSpec inferSpec(Path file, Map<String, SafeTensors.Entry> tensors) {
        List<Integer> sizes = new java.util.ArrayList<>();
        for (int l = 0; ; l++) {
            SafeTensors.Entry w = tensors.get((2 * l) + ".weight");
            if (w == null) {
                break;
            }
            if (w.shape().length != 2) {
                throw new KilnException(file + ": " + (2 * l) + ".weight has shape " + Arrays.toString(w.shape()) + ", expected (out, in)");
            }
            if (l == 0) {
                sizes.add(w.shape()[1]);
            } else if (w.shape()[1] != sizes.getLast()) {
                throw new KilnException(file + ": " + (2 * l) + ".weight takes " + w.shape()[1] + " inputs but the layer before gives " + sizes.getLast());
            }
            sizes.add(w.shape()[0]);
        }
        if (sizes.size() < 2) {
            throw new KilnException(file + " has no layer spec in its metadata and no 0.weight tensor",
                    "Kiln reads safetensors files of torch.nn.Sequential(Linear, ReLU, ..., Linear) state_dicts");
        }
        return new LayerSpec(sizes.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The flat vector for one prefix; null when {@code required} is false and no tensor of the prefix exists. */
    private static float[] readLayers(Path file, Map<String, SafeTensors.Entry> tensors, String prefix, LayerSpec spec, boolean required) {
        if (!required && tensors.keySet().stream().noneMatch(k -> k.startsWith(prefix))) {
            return null;
        }
        float[] flat = new float[spec.parameterCount()];
        for (int l = 0; l < spec.layerCount(); l++) {
            int in = spec.inputs(l), o = spec.outputs(l);
            copy(file, tensors, prefix + spec.weightName(l), new int[]{o, in}, flat, spec.weightOffset(l), spec);
            copy(file, tensors, prefix + spec.biasName(l), new int[]{o}, flat, spec.biasOffset(l), spec);
        }
        return flat;
    }

    private static void copy(Path file, Map<String, SafeTensors.Entry> tensors, String name, int[] shape, float[] flat, int at, LayerSpec spec) {
        SafeTensors.Entry e = tensors.get(name);
        if (e == null) {
            throw new KilnException(file + " has no tensor '" + name + "', which a " + spec + " network needs",
                    "the file is incomplete or belongs to another network");
        }
        if (!Arrays.equals(e.shape(), shape)) {
            throw new KilnException(file + ": tensor '" + name + "' has shape " + Arrays.toString(e.shape())
                    + " but layers " + spec + " need " + Arrays.toString(shape),
                    "pass --layers matching the checkpoint, or train a new one");
        }
        float[] data = e.data();
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) {
                throw new KilnException(file + ": tensor '" + name + "' holds " + data[i] + " at index " + i
                        + " (a diverged or damaged run)", "resume from an earlier checkpoint, or train afresh");
            }
        }
        System.arraycopy(data, 0, flat, at, data.length);
    }

    /** The optimizer's name ({@code optimizer}: adam, adamw or sgd) and hyperparameters, as checkpoints record them. */
    public static Map<String, String> optimizerMetadata(Optimizer optimizer) {
        Map<String, String> m = new LinkedHashMap<>();
        switch (optimizer) {
            case Optimizer.Adam a -> {
                m.put("optimizer", a.decoupled() ? "adamw" : "adam");
                m.put("lr", Double.toString(a.lr()));
                m.put("beta1", Double.toString(a.beta1()));
                m.put("beta2", Double.toString(a.beta2()));
                m.put("eps", Double.toString(a.eps()));
                m.put("weight_decay", Double.toString(a.weightDecay()));
            }
            case Optimizer.Sgd s -> {
                m.put("optimizer", "sgd");
                m.put("lr", Double.toString(s.lr()));
                m.put("momentum", Double.toString(s.momentum()));
                m.put("weight_decay", Double.toString(s.weightDecay()));
            }
        }
        return m;
    }

    static Optimizer optimizerFrom(Path file, Map<String, String> meta) {
        String name = meta.getOrDefault("optimizer", "adam");
        double lr = doubleMeta(file, meta, "lr", 1e-3);
        double wd = doubleMeta(file, meta, "weight_decay", 0);
        return switch (name) {
            case "adam", "adamw" -> new Optimizer.Adam(lr, doubleMeta(file, meta, "beta1", 0.9), doubleMeta(file, meta, "beta2", 0.999),
                    doubleMeta(file, meta, "eps", 1e-8), wd, name.equals("adamw"));
            case "sgd" -> new Optimizer.Sgd(lr, doubleMeta(file, meta, "momentum", 0), wd);
            default -> throw new KilnException(file + " was trained with optimizer '" + name + "', which Kiln does not know",
                    "Kiln knows adam, adamw and sgd");
        };
    }

    private static double doubleMeta(Path file, Map<String, String> meta, String key, double dflt) {
        String v = meta.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new KilnException(file + ": metadata '" + key + "' is '" + v + "', not a number");
        }
    }

    /** Any long is a seed: {@code kiln train} takes negative ones too. */
    private static long seedMeta(Path file, Map<String, String> meta) {
        String v = meta.get("seed");
        try {
            return v == null ? TrainConfig.defaults().seed() : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new KilnException(file + ": metadata 'seed' is '" + v + "', not an integer");
        }
    }

    private static Schedule scheduleMeta(Path file, Map<String, String> meta) {
        String v = meta.get("schedule");
        if (v == null) {
            return TrainConfig.defaults().schedule();
        }
        try {
            return Schedule.parse(v);
        } catch (RuntimeException e) {
            throw new KilnException(file + ": metadata 'schedule' is '" + v + "', which Kiln cannot read ("
                    + e.getMessage() + ")");
        }
    }

    private static long longMeta(Path file, Map<String, String> meta, String key, long dflt) {
        String v = meta.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new KilnException(file + ": metadata '" + key + "' is '" + v + "', not a non-negative integer");
        }
    }
}
