package dev.kiln.engine.model;

import dev.kiln.data.KilnException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LayerSpecTest {

    @Test
    void parsesAndLaysOutParametersInPyTorchOrder() {
        LayerSpec s = LayerSpec.parse("784, 25,25,10");
        assertArrayEquals(new int[] {784, 25, 25, 10}, s.sizes());
        assertEquals(3, s.layerCount());
        assertEquals(784 * 25 + 25 + 25 * 25 + 25 + 25 * 10 + 10, s.parameterCount());
        assertEquals(0, s.weightOffset(0));
        assertEquals(19600, s.biasOffset(0));
        assertEquals(19625, s.weightOffset(1));
        assertEquals(20250, s.biasOffset(1));
        assertEquals(20275, s.weightOffset(2));
        assertEquals(20525, s.biasOffset(2));
        assertEquals("2.weight", s.weightName(1));
        assertEquals("4.bias", s.biasName(2));
        assertEquals("784,25,25,10", s.toString());
        assertEquals(s, LayerSpec.parse(s.toString()));
    }

    @Test
    void badSpecsSayWhatIsWrong() {
        assertEquals("a network needs at least an input and an output size, got 1 size",
                assertThrows(KilnException.class, () -> LayerSpec.parse("784")).getMessage());
        assertEquals("layer size 2 is 0, sizes must be positive",
                assertThrows(KilnException.class, () -> LayerSpec.parse("784,0,10")).getMessage());
        assertEquals("layer size 3 is -1, sizes must be positive",
                assertThrows(KilnException.class, () -> LayerSpec.parse("784,5,-1")).getMessage());
        assertEquals("layer spec '784,x,10': 'x' is not a whole number",
                assertThrows(KilnException.class, () -> LayerSpec.parse("784,x,10")).getMessage());
        assertEquals("layer spec '784,,10': '' is not a whole number",
                assertThrows(KilnException.class, () -> LayerSpec.parse("784,,10")).getMessage());
        assertEquals("the layer spec is empty", assertThrows(KilnException.class, () -> LayerSpec.parse(" ")).getMessage());
        assertEquals("write the layer sizes from input to output separated by commas, e.g. 784,25,25,10",
                assertThrows(KilnException.class, () -> LayerSpec.parse("7.5,2")).hint());
    }

    @Test
    void forDataTakesHiddenSizesOrTheWholeNetwork() {
        assertEquals("4,25,25,3", LayerSpec.forData(null, 4, 3).toString());
        assertEquals("4,64,32,3", LayerSpec.forData("64,32", 4, 3).toString());
        assertEquals("4,16,3", LayerSpec.forData("16", 4, 3).toString());
        assertEquals("4,3", LayerSpec.forData("none", 4, 3).toString());
        assertEquals("4,16,3", LayerSpec.forData("4,16,3", 4, 3).toString());
        assertEquals("784,256,10", LayerSpec.forData("256", 784, 10).toString());
        assertEquals("layers 784,25,5 start with the data's 784 inputs, so they are the whole network, but end with 5 while the"
                        + " data has 10 classes; hint: end them with 10, or give only the hidden sizes",
                assertThrows(KilnException.class, () -> LayerSpec.forData("784,25,5", 784, 10)).oneLine());
        assertThrows(KilnException.class, () -> LayerSpec.forData("16,x", 4, 3));
        assertThrows(KilnException.class, () -> LayerSpec.forData("16,0", 4, 3));
    }
}
