"""Event-driven simulation of spiking convolution and pooling layers in float32.

The kernel of spikeclf._conv, compiled from the same source (_conv_body.pxi)
with float32 membrane potentials, weights and thresholds, on the float32
fully connected layers of spikeclf._lif32, for inference: every operation on
them is rounded to float32, in the order of the float64 kernel, and the vector
loop of a position handles twice as many feature maps per instruction. Times
stay float64; training is float64 only (spikeclf._train uses spikeclf._conv).
"""

include "_conv_body.pxi"
