"""Declarations of the float32 inference simulator (see _lif.pxd)."""

ctypedef float real

include "_lif_decl.pxi"
