"""emonb: what a facial-emotion CNN sees.

Importing :mod:`emonb` first makes TensorFlow safe on AVX-512 CPUs (see
:func:`emonb.config.guard_tensorflow`); heavy submodules load lazily.
"""

from emonb.config import CLASS_NAMES, guard_tensorflow

guard_tensorflow()

__version__ = "0.1.0"
__all__ = ["CLASS_NAMES", "__version__"]
