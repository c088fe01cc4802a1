"""ccneg_build: turn caption corpora into CC-Neg-style negation datasets.

Data flows source -> negator -> verify (the one shared filter) -> splits -> writer.
"""

__version__ = "0.1.0"
