package dev.kiln.data;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class FeatureScalingTest {
    private static final Table TABLE = new Table("t", List.of("a", "b", "flat"),
            new float[][]{{0, 10, 5}, {10, 30, 5}, {5, 20, 5}, {5, 20, 5}}, new int[]{0, 1, 0, 1}, List.of("no", "yes"));

    @Test
    void minMaxMapsTheTrainingRangeOntoZeroToOne() {
        FeatureScaling s = FeatureScaling.fit(TABLE, false);
        assertArrayEquals(new float[]{0, 1, 0}, s.inputs(new float[]{0, 30, 5}));
        assertArrayEquals(new float[]{128 / 255f, 0, 0}, s.inputs(new float[]{5, -100, 7})); // clamped below
        Dataset d = s.dataset(TABLE);
        assertEquals(3, d.pixelsPerSample());
        assertEquals(2, d.classes());
        assertEquals(255, d.pixel(1, 0));
        assertEquals(128, d.pixel(2, 1));
    }

    @Test
    void standardizeCentresTheMeanAndKeepsFourDeviations() {
        FeatureScaling s = FeatureScaling.fit(TABLE, true);
        // column a: mean 5, sd sqrt(12.5); the mean maps to the middle level, mean + 4 sd to the top
        float sd = (float) Math.sqrt(12.5);
        float[] u = s.inputs(new float[]{5, 20 + 4 * (float) Math.sqrt(50), 5});
        assertEquals(128 / 255f, u[0]);
        assertEquals(1f, u[1]);
        assertEquals(0f, u[2]); // a constant column
        assertEquals(0f, s.inputs(new float[]{5 - 5 * sd, 20, 5})[0]);
    }

    @Test
    void theMetadataReadsBackExactly() {
        Table odd = new Table("t", List.of("a,1", "b%"), new float[][]{{0.1f, 1e-7f}, {0.3f, 3f}}, new int[]{0, 1},
                List.of("x, y", "z"));
        FeatureScaling s = FeatureScaling.fit(odd, true);
        FeatureScaling back = FeatureScaling.fromMetadata(s.metadata());
        assertEquals(s.kind(), back.kind());
        assertEquals(s.featureNames(), back.featureNames());
        assertEquals(s.classNames(), back.classNames());
        assertArrayEquals(s.offset(), back.offset());
        assertArrayEquals(s.scale(), back.scale());
        assertEquals(null, FeatureScaling.fromMetadata(java.util.Map.of("layers", "784,10")));
    }
}
