"""Build the Cython kernels of spikeclf.

Every ``spikeclf/_*.pyx`` module becomes one extension (``_lif`` and ``_lif32``
share their source, ``_lif_body.pxi``, typed on double and on float, and so do
``_conv`` and ``_conv32``, ``_conv_body.pxi``), compiled
with numpy's headers and ``-O3``. There is no ``-march=native`` and no
``-ffast-math`` so that wheels run anywhere and results are bit-reproducible
across machines.

The extensions are translated (cythonize) and compiled in parallel, one
process per core: a plain ``pip install .`` uses every core, without ``-j``.
``python setup.py build_ext -j N`` (or ``--parallel N``) sets another number.

Set ``SPIKECLF_CYTHON_DEBUG=1`` to compile with bounds and initialization checks
(slow; for hunting a kernel bug).
"""

import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("SPIKECLF_CYTHON_DEBUG", "0") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

# Kernels that simulate samples in parallel threads (cython.parallel.prange).
OPENMP = {"_conv", "_conv32", "_encoders", "_lif", "_lif32", "_train"}

extensions = [
    Extension(
        f"spikeclf.{path.stem}",
        [str(path)],
        include_dirs=[np.get_include(), "spikeclf"],
        depends=[str(h) for h in Path("spikeclf").glob("*.h")]
        + [str(h) for h in Path("spikeclf").glob("*.pxd")]
        + [str(h) for h in Path("spikeclf").glob("*.pxi")],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_22_API_VERSION")],
        # No contraction into FMA either: the same rounding on every machine.
        # -g0 drops the debug information Python's own flags ask for: it does not
        # change the machine code, and compiling without it takes 30 % less time.
        extra_compile_args=["-O3", "-ffp-contract=off", "-g0"]
        + (["-fopenmp"] if path.stem in OPENMP else []),
        extra_link_args=["-fopenmp"] if path.stem in OPENMP else [],
    )
    for path in sorted(Path("spikeclf").glob("_*.pyx"))
]

CORES = os.cpu_count() or 1


class ParallelBuildExt(build_ext):
    """build_ext that compiles the extensions on every core unless told -j N."""

    def finalize_options(self):
        if self.parallel is None:
            self.parallel = CORES
        super().finalize_options()


setup(
    ext_modules=cythonize(extensions, compiler_directives=directives, nthreads=CORES),
    cmdclass={"build_ext": ParallelBuildExt},
)
