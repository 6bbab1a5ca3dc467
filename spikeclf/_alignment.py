"""Arrays that start on a cache line, for the vector loops of the kernels."""

import numpy as np

CACHE_LINE = 64


def aligned(a, dtype=None):
    """``a`` as a C-contiguous array of ``dtype`` that starts on a cache line.

    The kernels' AVX2 loops load 32-byte vectors of weight rows and thresholds.
    NumPy puts a large array 16 bytes past a cache line (the heap's header), so
    every other load then straddles two lines: 12-15 % of the simulator's time
    on a 784-800-10 network. A copy is made only when ``a`` is not aligned.

    Parameters
    ----------
    a : array-like
    dtype : data-type, default=None
        The dtype of the result; None keeps ``a``'s.

    Returns
    -------
    ndarray
        ``a`` itself when it is already aligned, C-contiguous and of ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from spikeclf._alignment import aligned
    >>> w = aligned(np.arange(12.0).reshape(3, 4)[:, 1:], np.float32)
    >>> w.ctypes.data % 64, w.flags.c_contiguous, w.dtype, w[0].tolist()
    (0, True, dtype('float32'), [1.0, 2.0, 3.0])
    """
    a = np.asarray(a, dtype=dtype)
    if a.flags.c_contiguous and a.ctypes.data % CACHE_LINE == 0:
        return a
    buffer = np.empty(a.nbytes + CACHE_LINE, dtype=np.uint8)
    start = -buffer.ctypes.data % CACHE_LINE
    out = buffer[start : start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out
