package dev.kiln.engine.device;

import dev.kiln.engine.dist.RankReduction;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.train.GradientReduction;

import java.util.function.IntConsumer;

/**
 * The handful of operations a dense network needs, on one piece of hardware.
 *
 * <p>{@link ReferenceDevice} is the readable definition of every operation; every other device (the vectorized
 * CPU path, CUDA) has the same-named operation and is tested against it on random inputs. Operations are
 * asynchronous on devices that can be: results are only guaranteed visible to the host after {@link #download}
 * or {@link #synchronize}.
 *
 * <p>Dimension glossary: B batch rows, I layer inputs, O layer outputs, C classes, N dataset samples,
 * P pixels per sample, Q parameters. Tensors are row-major; a weight is (O, I) as in PyTorch's {@code nn.Linear},
 * so a layer computes {@code z = x W^T + b}.
 *
 * <p>Permitted deviations from the reference, each bounded by the tolerance {@link DeviceCheck} checks it with:
 * sums (GEMM, column sums, the loss sum) may add in another order or with fused multiply-adds
 * ({@link DeviceCheck#sum}); exp, log, sqrt and pow may differ by a few ulps ({@link DeviceCheck#TRANSCENDENTAL}),
 * and a single rounding may differ ({@link DeviceCheck#ELEMENTWISE}); {@link #adam} may flush subnormal moments.
 * Everything else (copies, gathers, ReLU, argmax, counts, integer ops) is exact. Results never depend on the thread
 * count.
 *
 * <p>Scalars that a replayed step must read at run time (the optimizer's step count, the learning rate, the
 * batch cursor, the loss and accuracy sums) live in tiny device tensors, so a GPU can capture the step once as
 * a graph and replay it without the host writing anything.
 */
public interface Device extends AutoCloseable {

    /** Short name used on the command line and in metrics: {@code reference}, {@code cpu}, {@code cuda:0}. */
    String name();

    /** One line for people: the hardware and how it is driven. */
    String description();

    /** A zero-filled {@code rows x cols} tensor. */
    Tensor allocate(DType dtype, int rows, int cols);

    /** Copies {@code dst.size()} floats from {@code src} into F32 {@code dst}. */
    void upload(float[] src, Tensor dst);

    /** Copies {@code dst.size()} ints from {@code src} into I32 {@code dst}. */
    void upload(int[] src, Tensor dst);

    /** Copies {@code dst.size()} bytes from {@code src} into U8 {@code dst}. */
    void upload(byte[] src, Tensor dst);

    /** Copies F32 {@code src} into {@code dst[0 .. src.size())}; waits for pending work first. */
    void download(Tensor src, float[] dst);

    /** Copies I32 {@code src} into {@code dst[0 .. src.size())}; waits for pending work first. */
    void download(Tensor src, int[] dst);

    /** Sets every element of an F32 or I32 tensor to {@code value} (cast to int for I32). */
    void fill(Tensor t, float value);

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C}, where {@code op(X)} is X or its transpose. With op(A) (M, K)
     * and op(B) (K, N), C is (M, N). When {@code beta == 0}, C's old contents are ignored (even NaN).
     */
    void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /** In place: {@code z (B, O) += bias (1, O)} on every row, then {@code z = max(z, 0)} if {@code relu}. */
    void biasActivation(Tensor z, Tensor bias, boolean relu);

    /**
     * ReLU backward fused with the bias gradient: in place {@code dh (B, O) *= (h > 0 ? 1 : 0)}, then
     * {@code dbias (1, O) = column sums of dh}. {@code h (B, O)} is the layer's ReLU output.
     */
    void reluBackward(Tensor dh, Tensor h, Tensor dbias);

    /** {@code out (1, O) = sum over rows of x (B, O)}: the bias gradient of a layer without activation. */
    void columnSums(Tensor x, Tensor out);

    /**
     * Softmax cross-entropy, loss and gradient in one pass (the row max is subtracted first, so logits of 1e4 do
     * not overflow). For logits (B, C) and I32 labels (B, 1):
     * {@code dlogits (B, C) = (softmax(logits) - onehot(labels)) / B} and
     * {@code stats[0] += sum over rows of -log softmax(logits)[label]}. {@code stats} is F32 (1, 2).
     */
    void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats);

    /**
     * Argmax-correct counting: {@code stats[1] += number of rows of logits (B, C) whose argmax equals the label}.
     * Ties go to the lowest index. {@code stats} is F32 (1, 2).
     */
    void countCorrect(Tensor logits, Tensor labels, Tensor stats);

    /** I32 {@code predictions (B, 1)} = the argmax of each row of {@code logits (B, C)}, ties to the lowest index. */
    void argmax(Tensor logits, Tensor predictions);

    /**
     * Batch gather and scale: with {@code s = cursor[0]} and B = {@code x.rows()}, for each row r,
     * {@code x[r] = images[order[s + r]] / 255} and {@code y[r] = labels[order[s + r]]}.
     * images U8 (N, P), labels I32 (N, 1), order I32 (N, 1), cursor I32 (1, 1), x F32 (B, P), y I32 (B, 1).
     * Requires {@code s + B <= N}.
     */
    void gatherBatch(Tensor images, Tensor labels, Tensor order, Tensor cursor, Tensor x, Tensor y);

    /** {@code counter[0] += delta} for an I32 counter, on the device (so a replayed step can advance it). */
    void addInt(Tensor counter, int delta);

    /**
     * SGD with optional momentum and weight decay, as PyTorch's {@code torch.optim.SGD} (dampening 0, no Nesterov):
     * {@code g = grad + weightDecay * p}; {@code v = momentum * v + g} (when momentum is not 0, else v unused);
     * {@code p -= lr * (momentum != 0 ? v : g)}. All of params, grads, velocity are F32 of the same size (Q);
     * {@code lr} is F32 (1, 1).
     */
    void sgd(Tensor params, Tensor grads, Tensor velocity, Tensor lr, float momentum, float weightDecay);

    /**
     * Adam (Kingma and Ba, 2015, Algorithm 1) over all Q parameters in one pass. With {@code t = step[0]} (the
     * caller increments it before this update, so the first update has t = 1):
     * <pre>
     *   g  = grad + (decoupled ? 0 : weightDecay * p)            // L2 penalty, as torch.optim.Adam
     *   p  = decoupled ? p * (1 - lr * weightDecay) : p          // AdamW (Loshchilov and Hutter, 2019)
     *   m  = beta1 * m + (1 - beta1) * g
     *   v  = beta2 * v + (1 - beta2) * g * g
     *   mHat = m / (1 - beta1^t),  vHat = v / (1 - beta2^t)
     *   p -= lr * mHat / (sqrt(vHat) + eps)
     * </pre>
     * {@code lr} is F32 (1, 1), {@code step} I32 (1, 1).
     *
     * <p>Permitted deviation: a device may flush moments below {@link Float#MIN_NORMAL} to zero and leave out of v
     * the square of a gradient below 2^-56 (it would add under 1e-37). The CPU device does both, to avoid
     * subnormal arithmetic (a microcode assist per operation on x86, which Java cannot switch off); the reference
     * and CUDA do not. Either way the parameters stay within {@link DeviceCheck#TRANSCENDENTAL} of the reference.
     */
    void adam(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor step, Tensor lr,
              float beta1, float beta2, float eps, float weightDecay, boolean decoupled);

    /**
     * A step expressed once and replayed: the returned runnable performs {@code body}'s operations. A GPU device
     * may capture them on the first run and replay the capture afterwards, so {@code body} must use the same
     * tensors every time and must not read results on the host (no download inside).
     */
    Runnable replayable(Runnable body);

    /**
     * How many replicas a data-parallel pass over {@code rows} rows of a network of {@code parameters} parameters runs
     * as on this device ({@link #forEachReplica}); 1 means the whole batch at once. It must depend on its arguments
     * only, never on the thread count, so that results do not either. The default is 1: a GPU runs a whole batch per
     * kernel.
     */
    default int localReplicas(int rows, long parameters) {
        return 1;
    }

    /**
     * Runs {@code body} for each replica r in {@code [0, replicas)}: the data-parallel part of a step, each replica on
     * its own rows of the batch into its own tensors (activations, gradient buffer, stats). Replicas may all read
     * tensors that none of them writes (the parameters); none writes a tensor another one touches. So a device may
     * run replicas at the same time, each one's ops in order. Inside a replayable body this is part of the step. The
     * default runs them one after the other.
     */
    default void forEachReplica(int replicas, IntConsumer body) {
        for (int r = 0; r < replicas; r++) {
            body.accept(r);
        }
    }

    /**
     * The gradient reduction of a step whose replicas include other processes' ({@link Ranks}, a data-parallel run),
     * created once per run. The default sums through the host with {@code MPI_Allreduce} ({@link RankReduction}),
     * right for devices whose steps run on the host; a GPU reduces on the device, inside its captured step.
     */
    default GradientReduction rankReduction(Ranks ranks) {
        return new RankReduction(ranks);
    }

    /** Waits until every operation issued so far has finished. */
    void synchronize();

    /** Frees everything this device allocated. Tensors of a closed device must not be used. */
    @Override
    void close();

    /**
     * The floats to which the start of every weight and bias within a model's flat parameter vector is rounded up
     * on this device ({@link dev.kiln.engine.model.Mlp}); the gaps hold zeros, which the optimizers leave at zero.
     * 1 (packed) by default; the CUDA device asks for 4 (16 bytes), so that every matrix cuBLAS reads or writes is
     * 16-byte aligned and can take its vectorised kernels. Host-side vectors (checkpoints, {@code Mlp.parameters()})
     * are always packed.
     */
    default int parameterAlignment() {
        return 1;
    }
}
