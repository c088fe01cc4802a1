"""The released CC-Neg files in and out of the ccneg layout.

* :mod:`ccneg_core.released_format` (shared with ccneg-bench) the one reader and writer of ``ccneg_preprocessed.pt`` (plain
  containers only, ``torch.load(weights_only=True)``): ids, texts, labels, the eval split
  (the last 40,000 rows) and the mapping of one annotation to one record row and back, used
  by both commands and by ``ccneg-bench`` on a release folder;
* :mod:`.importer`  ``ccneg-build import-official DIR --out OUT``;
* :mod:`.exporter`  ``ccneg-build export-official OUT --to DIR``;
* :mod:`.commands`  the two command lines.
"""
