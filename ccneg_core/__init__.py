"""ccneg_core: the base that ``ccneg-build``, ``ccneg-bench`` and ``ccneg-train`` share.

Everything more than one command touches is defined here once, and this package imports
neither command's code (``ccneg_build`` nor ``ccneg_bench``); a test holds that contract.
It needs no torch, so the data-only install stays small. See docs/architecture.md.

* :mod:`.record`           the record, reject and source-row schemas and their row builders;
* :mod:`.lexicon`          the negation lexicon (cues, word lists, tokens);
* :mod:`.layout`           the output folder's names (files, folders, split rule);
* :mod:`.dataset`          the one reader of a built folder;
* :mod:`.writer`           atomic writes and Parquet shards;
* :mod:`.released_format`  the released CC-Neg files (read and write, one eval split);
* :mod:`.image_decode`     the one safe image decoder, its reason codes and limits;
* :mod:`.devices`          device and precision names, resolved alike in every command;
* :mod:`.argparsing`       the one-line usage-error parser every command uses;
* :mod:`.intervals`        the Wilson interval;
* :mod:`.pages`, :mod:`.highlight`  pieces of self-contained HTML pages (review, report).
"""

#: The one version of the toolkit (the wheel's version is read from here).
__version__ = "0.1.0"
