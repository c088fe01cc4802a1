"""``ccneg-build --style negbench``: NegBench-style data from the same pipeline.

Per row: the objects the image shows (:mod:`.objects`), one it does not show, proposed by corpus
statistics (:mod:`.cooccurrence`) or an LLM (:mod:`.proposers`) and judged by one set of rules
(:mod:`.absent`, with the object lexicon of :mod:`.lexicon`), a 4-way MCQ and a negated retrieval
caption in NegBench's templates (:mod:`.templates`), optionally reworded by an LLM and checked
(:mod:`.paraphrase`). :mod:`.step` is the pipeline step, :mod:`.run` its parts around the shards,
:mod:`.export` NegBench's CSV files, :mod:`.visual` the visual check, :mod:`.card` the card.
"""
