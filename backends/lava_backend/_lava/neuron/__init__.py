"""The spec's LIF neuron as a Lava Process with a float and a fixed-point model."""
