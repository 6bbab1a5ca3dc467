"""Compiled kernel of spikeclf.dvs: events of a DVS pixel array from log intensities.

Each pixel keeps the log intensity of its last event (its reference). Between two
rendered frames the log intensity is taken as linear in time; each time it moves
one ON threshold above the reference (or one OFF threshold below), the pixel
emits an event at the interpolated crossing time and the reference moves by that
threshold. A crossing within the refractory period of the pixel's previous event
moves the reference but emits nothing.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport floor, log

cnp.import_array()

ctypedef cnp.int64_t int64
ctypedef cnp.int32_t int32




cdef inline double _seen(
    const double[:, ::1] scene, double u, double v, double background,
) noexcept nogil:
    """Log intensity at scene point (u, v) (column, row), bilinear."""
    cdef Py_ssize_t c = <Py_ssize_t> floor(u), r = <Py_ssize_t> floor(v)
    cdef double fu = u - c, fv = v - r
    return log(
        background
        + (1 - fv) * ((1 - fu) * scene[r, c] + fu * scene[r, c + 1])
        + fv * ((1 - fu) * scene[r + 1, c] + fu * scene[r + 1, c + 1])
    )


def dvs_events(
    const double[:, ::1] scene,
    const double[::1] dx,
    const double[::1] dy,
    const double[::1] times,
    const double[::1] th_on,
    const double[::1] th_off,
    Py_ssize_t width,
    double background,
    double refractory,
    int32[::1] out_pixel,
    double[::1] out_t,
    cnp.uint8_t[::1] out_p,
):
    """Write the events of every pixel, pixel after pixel; return their number.

    Parameters
    ----------
    scene : (rows, columns) intensities; sensor pixel (x, y) sees scene point
        (x - dx[k], y - dy[k]) at frame k. The caller pads the scene so that
        every such point and its right and lower neighbours are inside it.
    dx, dy, times : (n_frames,) offsets of the sensor and increasing times (us).
    th_on, th_off : (n_pixels,) positive contrast thresholds; pixel i is
        (i % width, i // width).
    background : intensity added before the log (the monitor's black).
    refractory : microseconds a pixel stays silent after an event.
    out_pixel, out_t, out_p : capacity for the events (pixel, time, polarity 1 = ON).

    Returns
    -------
    n_events : int
        Events written, or -1 when the capacity was too small (call again with
        more).
    """
    cdef Py_ssize_t n_frames = times.shape[0], n_pixels = th_on.shape[0]
    cdef Py_ssize_t capacity = out_pixel.shape[0], n = 0, i, k
    cdef double ref, last, a, b, level, t_event, x, y
    cdef bint on, full = False
    if dx.shape[0] != n_frames or dy.shape[0] != n_frames or n_frames == 0:
        raise ValueError("dvs_events: dx, dy and times must have one nonzero length")
    if th_off.shape[0] != n_pixels or width < 1 or n_pixels % width:
        raise ValueError("dvs_events: thresholds must cover the sensor")
    if out_t.shape[0] != capacity or out_p.shape[0] != capacity:
        raise ValueError("dvs_events: outputs must have one length")
    # Every point read, and its right and lower neighbours, must be inside the
    # scene: the nogil loop does not check. x - dx >= 0 and x - dx + 1 < columns.
    if (
        np.max(dx) > 0 or np.max(dy) > 0
        or width - np.min(dx) >= scene.shape[1]
        or n_pixels // width - np.min(dy) >= scene.shape[0]
    ):
        raise ValueError("dvs_events: the sensor looks outside the scene")
    with nogil:
        for i in range(n_pixels):
            x = i % width
            y = i // width
            b = _seen(scene, x - dx[0], y - dy[0], background)
            ref = b
            last = -1e300
            for k in range(1, n_frames):
                a = b
                b = _seen(scene, x - dx[k], y - dy[k], background)
                while True:
                    if b >= ref + th_on[i]:
                        level = ref + th_on[i]
                        on = True
                    elif b <= ref - th_off[i]:
                        level = ref - th_off[i]
                        on = False
                    else:
                        break
                    # a lies strictly between the two levels, so b != a here.
                    t_event = times[k - 1] + (times[k] - times[k - 1]) * (level - a) / (b - a)
                    ref = level
                    if t_event - last < refractory:
                        continue
                    if n == capacity:
                        full = True
                        break
                    out_pixel[n] = <int32> i
                    out_t[n] = t_event
                    out_p[n] = on
                    last = t_event
                    n += 1
                if full:
                    break
            if full:
                break
    return -1 if full else n
