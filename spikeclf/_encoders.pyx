"""Compiled kernel of spikeclf.encoders: Poisson events from images.

The random numbers are drawn by numpy in the caller; this kernel turns them into
sorted event times and pixel indices without sorting, in
O(n_pixels + n_events log n_pixels) per image, images in parallel threads.
"""

cimport numpy as cnp
from cython.parallel cimport prange, threadid
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


cdef inline Py_ssize_t _first_above(
    const double *cumulative, Py_ssize_t n, double u,
) noexcept nogil:
    """The first of pixels 0 .. n - 2 whose cumulative intensity exceeds u, else
    n - 1: the count of those at or below u, found without a branch to mispredict
    (the loop's halving is the same for every u; the comparison picks by
    arithmetic)."""
    cdef Py_ssize_t base = 0, length = n - 1, half
    if length <= 0:
        return 0
    while length > 1:
        half = length >> 1
        base += half * (cumulative[base + half] <= u)
        length -= half
    return base + (cumulative[base] <= u)


cdef void _encode_image(
    const pixel_t[:, ::1] images, Py_ssize_t i, const int64[::1] indptr,
    const double[::1] spacing, const double[::1] choice, double duration_us,
    double *cumulative, int32[::1] out_pixel, int64[::1] out_t,
) noexcept nogil:
    cdef Py_ssize_t n_pixels = images.shape[1]
    cdef Py_ssize_t j, k
    cdef Py_ssize_t start = indptr[i]
    cdef Py_ssize_t count = indptr[i + 1] - start
    cdef double running = 0.0, total = 0.0, partial = 0.0
    if count == 0:
        return
    for j in range(n_pixels):
        running = running + <double> images[i, j]
        cumulative[j] = running
    # The first count of count + 1 normalized exponential partial sums are
    # the order statistics of count uniforms: sorted times with no sort.
    for k in range(count + 1):
        total = total + spacing[start + i + k]
    for k in range(count):
        partial = partial + spacing[start + i + k]
        out_t[start + k] = <int64> floor(duration_us * (partial / total))
        # A pixel of zero intensity has zero width and is never chosen.
        out_pixel[start + k] = <int32> _first_above(
            cumulative, n_pixels, choice[start + k] * running)


def poisson_events(
    const pixel_t[:, ::1] images,
    const int64[::1] indptr,
    const double[::1] spacing,
    const double[::1] choice,
    double duration_us,
    double[::1] cumulative,
    int32[::1] out_pixel,
    int64[::1] out_t,
    int n_threads=1,
):
    """Fill ``out_pixel`` and ``out_t`` with the events of each image.

    Every image is encoded from its own draws alone, so the events are the same
    for any ``n_threads``.

    Parameters
    ----------
    images : (n_images, n_pixels) non-negative intensities.
    indptr : (n_images + 1,) image ``i`` owns events ``indptr[i]:indptr[i + 1]``;
        a blank image must own none.
    spacing : (n_events + n_images,) standard exponential draws; image ``i``
        uses ``count + 1`` of them, starting at ``indptr[i] + i``.
    choice : (n_events,) uniform draws in [0, 1) choosing the pixel of each event.
    duration_us : presentation length in microseconds.
    cumulative : (n_threads * n_pixels,) work buffer.
    out_pixel, out_t : (n_events,) pixel index and time (microseconds) of each event.
    n_threads : threads encoding images in parallel.
    """
    cdef Py_ssize_t n_images = images.shape[0]
    cdef Py_ssize_t n_pixels = images.shape[1]
    cdef Py_ssize_t i
    cdef Py_ssize_t n_events = out_t.shape[0]
    # What the nogil loop indexes by, checked once: it does not check.
    if indptr.shape[0] != n_images + 1 or indptr[0] != 0 or indptr[n_images] != n_events:
        raise ValueError("poisson_events: indptr must run from 0 to len(out_t)")
    for i in range(n_images):
        if indptr[i + 1] < indptr[i]:
            raise ValueError(f"poisson_events: indptr decreases at image {i}")
    if out_pixel.shape[0] != n_events or choice.shape[0] != n_events:
        raise ValueError("poisson_events: out_pixel and choice must match out_t")
    if n_threads < 1 or cumulative.shape[0] < n_threads * n_pixels:
        raise ValueError("poisson_events: cumulative must hold n_threads * n_pixels")
    if spacing.shape[0] != n_events + n_images:
        raise ValueError("poisson_events: spacing has the wrong length")
    if n_images == 0 or n_pixels == 0:
        return
    for i in prange(n_images, nogil=True, num_threads=n_threads, schedule="dynamic",
                    chunksize=64):
        _encode_image(images, i, indptr, spacing, choice, duration_us,
                      &cumulative[threadid() * n_pixels], out_pixel, out_t)
