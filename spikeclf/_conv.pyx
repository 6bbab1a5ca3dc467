"""Event-driven simulation of spiking convolution and pooling layers.

Compiled kernel of :mod:`spikeclf.convolution`: convolution and 2x2 pooling
layers, then the fully connected layers of spikeclf._lif, whose Layer and
_deliver it reuses. Times are in microseconds. The source, _conv_body.pxi, is
typed on `real` (double here): spikeclf._conv32 compiles it on float for
inference; spikeclf._train runs its forward pass through this module's Net.

The Python entry points check shapes, chaining and channels once; values
(finite weights, positive thresholds, sorted times) are the caller's to
validate (spikeclf.convolution does).
"""

include "_conv_body.pxi"
