"""Declarations of the float32 convolutional inference kernel (see _conv.pxd)."""

from ._lif32 cimport (
    MAX_SPIKES_PER_EVENT, Layer, Recorder, StreamBase, _accumulate, _deliver,
    _find_uniform_thresholds, _free_layers, _make_layers, _reset, _settle, check_length,
    check_shape, int32, int64, real, uint8,
)

include "_conv_decl.pxi"
