"""Event-driven simulation of fully connected LIF / WTA layers in float32.

The kernel of spikeclf._lif, compiled from the same source (_lif_body.pxi) with
float32 membrane potentials, weights and thresholds, for inference: every
operation on them is rounded to float32, in the order of the float64 kernel,
and the vector loops handle twice as many neurons per instruction. Times stay
float64 (see _lif_body.pxi); training is float64 only.
"""

include "_lif_body.pxi"
