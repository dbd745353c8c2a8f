"""The built-in NLP tasks ``sentiment``, ``intent`` and ``category``: their data and ``shopsense train``.

- :mod:`.intent`, :mod:`.sentiment`, :mod:`.category`: dataset builders (``text, label, lang, source``).
- :mod:`.train_all`: :func:`~shopsense.nlp.builtin.train_all.train_builtin`, the engine of ``shopsense train``.
- :mod:`.build_data`: rebuilds the reference-derived files in ``shopsense/nlp/data``.
"""
