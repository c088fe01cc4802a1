"""ccneg_build: turn caption corpora into CC-Neg-style negation datasets.

Data flows source -> negator -> verify (the one shared filter) -> splits -> writer.
"""

from ccneg_core import __version__  # the one version, defined in ccneg_core

__all__ = ["__version__"]
