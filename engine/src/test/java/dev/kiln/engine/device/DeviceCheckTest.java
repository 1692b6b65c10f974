package dev.kiln.engine.device;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The check itself: the reference agrees with itself, and a device with one wrong op is caught by name. */
class DeviceCheckTest {

    @Test
    void referenceAgreesWithItself() {
        List<DeviceCheck.Result> results = DeviceCheck.run(new ReferenceDevice(), 42);
        assertTrue(results.size() > 50, "expected every op on several shapes, got " + results.size());
        assertTrue(DeviceCheck.allPassed(results), () -> String.join("\n", results.stream().map(Object::toString).toList()));
    }

    @Test
    void catchesAWrongOperation() {
        Device broken = new ReferenceDevice() {
            @Override
            public void columnSums(Tensor x, Tensor out) {
                super.columnSums(x, out);
                float[] v = new float[(int) out.size()];
                download(out, v);
                v[v.length - 1] += 0.01f; // the last column is off
                upload(v, out);
            }
        };
        List<DeviceCheck.Result> results = DeviceCheck.run(broken, 42);
        assertFalse(DeviceCheck.allPassed(results));
        assertTrue(results.stream().filter(r -> !r.passed()).allMatch(r -> r.op().startsWith("columnSums") || r.op().startsWith("reluBackward dbias")),
                "only the broken op may fail");
    }

    @Test
    void catchesUnwrittenOutput() {
        Device lazy = new ReferenceDevice() {
            @Override
            public void argmax(Tensor logits, Tensor predictions) {
                // writes nothing
            }

            @Override
            public void gemm(boolean ta, boolean tb, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
                if (c.rows() == 1000) {
                    return; // leaves the NaN poison in place
                }
                super.gemm(ta, tb, alpha, a, b, beta, c);
            }
        };
        List<DeviceCheck.Result> failed = DeviceCheck.run(lazy, 7).stream().filter(r -> !r.passed()).toList();
        assertTrue(failed.stream().anyMatch(r -> r.op().startsWith("gemm") && r.shape().startsWith("1000x")), failed::toString);
        assertTrue(failed.stream().anyMatch(r -> r.op().equals("argmax")), failed::toString);
    }
}
