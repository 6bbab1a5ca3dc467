"""Declarations of the convolutional kernel (float64), shared with its training kernel.

spikeclf._conv32 declares the same names on float32 from the same file; the
names cimported here, from the float64 fully connected kernel, are those the
body (_conv_body.pxi) uses.
"""

from ._lif cimport (
    MAX_SPIKES_PER_EVENT, Layer, Recorder, StreamBase, _accumulate, _deliver,
    _find_uniform_thresholds, _free_layers, _make_layers, _reset, _settle, check_length,
    check_shape, int32, int64, real, uint8,
)

include "_conv_decl.pxi"
