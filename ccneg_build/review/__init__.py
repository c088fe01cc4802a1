"""Looking at a built dataset: a review page to judge rows by hand, and the precision it gives.

* :mod:`.pages`      safe pieces of self-contained HTML pages (escaping, inline images, CSP);
                     also used by ``ccneg-bench report --html``;
* :mod:`.sample`     a seeded sample of rows read from a built folder;
* :mod:`.highlight`  which words of the negated caption were inserted;
* :mod:`.page`       the review page (keyboard marks kept in ``localStorage``, JSON export);
* :mod:`.precision`  precision with 95% Wilson intervals from exported judgments;
* :mod:`.command`    ``ccneg-build review``.
"""
