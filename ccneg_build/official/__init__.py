"""The released CC-Neg files in and out of the ccneg layout.

* :mod:`.released_format` reading and writing ``ccneg_preprocessed.pt`` (plain containers
  only, ``torch.load(weights_only=True)``) and mapping one released annotation to one
  record row and back;
* :mod:`.importer`  ``ccneg-build import-official DIR --out OUT``;
* :mod:`.exporter`  ``ccneg-build export-official OUT --to DIR``;
* :mod:`.commands`  the two command lines.
"""

from ccneg_build.official.commands import export_command, import_command

__all__ = ["export_command", "import_command"]
