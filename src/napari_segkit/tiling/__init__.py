"""Chunk-by-chunk processing: block shapes, halos and label ids across blocks."""
