"""napari integration: layer conversion, threaded workers, widgets, sample data.

Everything that imports napari, magicgui or Qt lives in this package; the
headless API in :mod:`napari_segkit` never imports it.
"""
