"""Passages in, grounded answers out: citations, answerers, templates, models, summaries."""
