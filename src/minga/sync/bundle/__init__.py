"""Bundles: events and blobs in files carried by hand (DESIGN.md §5, sneakernet).

:mod:`~minga.sync.bundle.format` defines the container, :mod:`.writer` and
:mod:`.exporter` make one, :mod:`.reader`, :mod:`.staging`, :mod:`.journal`
and :mod:`.importer` take one in, :mod:`.commands` is ``minga bundle``.
See docs/bundles.md.
"""
