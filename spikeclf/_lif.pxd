"""Declarations shared by the kernels: the state of a layer and the event loop.

The float64 simulator, shared with the training and convolutional kernels;
spikeclf._lif32 declares the same names on float32 from the same file.
"""

ctypedef double real

include "_lif_decl.pxi"
