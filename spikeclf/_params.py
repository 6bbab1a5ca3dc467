"""Parameter constraints that several estimators share."""

from numbers import Integral

from sklearn.utils._param_validation import Interval

#: ``n_jobs``: None (one thread), -1 and below (all cores and fewer, joblib's
#: convention) or a positive count; 0 threads has no meaning.
N_JOBS = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]
