"""Compiled kernel of spikeclf.encoders: Poisson events from images.

The random numbers are drawn by numpy in the caller; this kernel turns them into
sorted event times and pixel indices without sorting, in
O(n_pixels + n_events log n_pixels) per image.
"""

cimport numpy as cnp
from libc.math cimport floor

cnp.import_array()

ctypedef cnp.int64_t int64
ctypedef cnp.int32_t int32

ctypedef fused pixel_t:
    cnp.uint8_t
    cnp.uint16_t
    cnp.int64_t
    float
    double


def poisson_events(
    const pixel_t[:, ::1] images,
    const int64[::1] indptr,
    const double[::1] spacing,
    const double[::1] choice,
    double duration_us,
    double[::1] cumulative,
    int32[::1] out_pixel,
    int64[::1] out_t,
):
    """Fill ``out_pixel`` and ``out_t`` with the events of each image.

    Parameters
    ----------
    images : (n_images, n_pixels) non-negative intensities.
    indptr : (n_images + 1,) image ``i`` owns events ``indptr[i]:indptr[i + 1]``;
        a blank image must own none.
    spacing : (n_events + n_images,) standard exponential draws; image ``i``
        uses ``count + 1`` of them, starting at ``indptr[i] + i``.
    choice : (n_events,) uniform draws in [0, 1) choosing the pixel of each event.
    duration_us : presentation length in microseconds.
    cumulative : (n_pixels,) work buffer.
    out_pixel, out_t : (n_events,) pixel index and time (microseconds) of each event.
    """
    cdef Py_ssize_t n_images = images.shape[0]
    cdef Py_ssize_t n_pixels = images.shape[1]
    cdef Py_ssize_t i, j, k, start, count, lo, hi, mid
    cdef double running, total, partial, u
    cdef Py_ssize_t n_events = out_t.shape[0]
    # What the nogil loop indexes by, checked once: it does not check.
    if indptr.shape[0] != n_images + 1 or indptr[0] != 0 or indptr[n_images] != n_events:
        raise ValueError("poisson_events: indptr must run from 0 to len(out_t)")
    for i in range(n_images):
        if indptr[i + 1] < indptr[i]:
            raise ValueError(f"poisson_events: indptr decreases at image {i}")
    if out_pixel.shape[0] != n_events or choice.shape[0] != n_events:
        raise ValueError("poisson_events: out_pixel and choice must match out_t")
    if spacing.shape[0] != n_events + n_images or cumulative.shape[0] != n_pixels:
        raise ValueError("poisson_events: spacing or cumulative has the wrong length")
    with nogil:
        for i in range(n_images):
            start = indptr[i]
            count = indptr[i + 1] - start
            if count == 0:
                continue
            running = 0.0
            for j in range(n_pixels):
                running = running + <double> images[i, j]
                cumulative[j] = running
            # The first count of count + 1 normalized exponential partial sums are
            # the order statistics of count uniforms: sorted times with no sort.
            total = 0.0
            for k in range(count + 1):
                total = total + spacing[start + i + k]
            partial = 0.0
            for k in range(count):
                partial = partial + spacing[start + i + k]
                out_t[start + k] = <int64> floor(duration_us * (partial / total))
                u = choice[start + k] * running
                # First pixel whose cumulative intensity exceeds u: a pixel of
                # zero intensity has zero width and is never chosen.
                lo = 0
                hi = n_pixels - 1
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if cumulative[mid] > u:
                        hi = mid
                    else:
                        lo = mid + 1
                out_pixel[start + k] = <int32> lo
