"""The book's machinery and its two explorers: what turns the chapters into a web book.

One concern per module (import them by name; this package re-exports nothing):

- :mod:`emonb.book.build` runs the chapters (papermill, in TOC order) and builds the HTML
  (``jupyter-book build -W``): :func:`~emonb.book.build.build_book`, ``emonb book``; with
  ``--scheduler``, each chapter is a task on a Dask cluster's workers.
- :mod:`emonb.book.record` lets a chapter record scalars (``record.scalars(accuracy=...)``),
  hidden in the page, that :mod:`emonb.book.sweep` reads back.
- :mod:`emonb.book.sweep` executes one chapter once per value of a parameter and tabulates
  the scalars each execution recorded: ``emonb sweep``.
- :mod:`emonb.book.figures` saves every figure a chapter shows at 300 dpi, from an IPython
  extension the build loads into each chapter's kernel.
- :mod:`emonb.book.params` checks a chapter's papermill parameters in its first cell
  (``params.check_int`` ...) and writes the synthetic stand-in's note.
- :mod:`emonb.book.widgets` holds the live ipywidgets explorers (feature maps and
  explanation maps) and the colouring they share with the static one.
- :mod:`emonb.book.explorer` writes the static HTML + JavaScript explorers that the built
  book carries instead of live widgets: feature maps (chapter 03) and explanation maps per
  face, method, emotion and layer (chapters 04 and 05).
- :mod:`emonb.book.recorded` loads the results recorded in ``benchmarks/`` and writes the box
  a page shows above each (file, command, commit, date, machine).
"""
