"""Sphinx configuration of the spikeclf documentation: ``make -C docs html``."""

import inspect

import spikeclf

project = "spikeclf"
author = "The spikeclf developers"
copyright = "The spikeclf developers"
release = spikeclf.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# Equations in the Markdown pages: $...$ inline, $$...$$ displayed (MathJax).
myst_enable_extensions = ["dollarmath"]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# API reference: one stub page per public object, written by autosummary.
autosummary_generate = True
autodoc_typehints = "none"
# The methods of a class are documented on its page by the template
# (_templates/autosummary/class.rst), not as numpydoc tables of stub links.
numpydoc_show_class_members = False
# Checks every docstring of the API reference; a failure is a build warning,
# and the Makefile turns warnings into errors. The checks are the ones about
# what a docstring says: parameters documented, known and in order, and
# sections in the numpydoc order.
numpydoc_validation_checks = {
    "GL06",  # unknown section
    "GL07",  # sections in the wrong order
    "PR01",  # parameter not documented
    "PR02",  # documented parameter that does not exist
    "PR03",  # parameters in the wrong order
    "PR10",  # "x: int" instead of "x : int"
}
# Records whose constructor arguments are their fields, documented as
# Attributes (named tuples, data classes, an exception): PR01 does not apply.
numpydoc_validation_exclude = {
    r"^spikeclf\.EventStreamError$",
    r"^spikeclf\.events\.PackedEvents$",
    r"^spikeclf\.simulator\.SimulationResult$",
    r"^spikeclf\.experiments\.(ImageTask|EventTask)$",
}

html_theme = "pydata_sphinx_theme"
html_title = f"spikeclf {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}

# Gallery: every script of examples/ gets a page; only the quick ones that need
# no download (a second each) run during the build, the others are listed with
# their code (they train for minutes to hours or need MNIST, N-MNIST or nir).
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"[\\/](encode_digits|simulate_digits)\.py$",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "show_signature": False,
    "write_computation_times": False,
}


def _defining_module(obj):
    """Module that defines a class member (a function, property or descriptor)."""
    for inner in (getattr(obj, "fget", None), getattr(obj, "__func__", None), obj):
        if inspect.isroutine(inner) or inspect.isclass(inner):
            owner = getattr(inner, "__objclass__", None)  # methods of builtins
            return getattr(owner or inner, "__module__", None)
    owner = getattr(obj, "__objclass__", None)  # attributes of builtins
    return getattr(owner, "__module__", None)


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document on a class page only the members spikeclf defines.

    The class template includes inherited members (``fit`` and ``predict``
    come from a private base class); those of scikit-learn's mixins
    (``get_params``, ``set_output``, metadata routing) and of builtins
    (``tuple.count``, ``Exception.args``) are documented where they come from.
    The "Alias for field number N" properties of named tuples are left out
    too: the Attributes section of the class docstring describes the fields.
    """
    if what != "class":
        return None
    module = _defining_module(obj)
    if module is not None and not module.startswith("spikeclf"):
        return True
    if (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
