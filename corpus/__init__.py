"""The bundled sample coverage: five articles on Russia-China relations, 2021-2023."""

from pathlib import Path

#: Folder holding the sample articles and their ``manifest.yaml``.
SAMPLE_CORPUS = Path(__file__).parent / "seeds"
