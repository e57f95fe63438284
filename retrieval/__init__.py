"""Articles in, passages out: sources -> cleaning -> splitting -> index -> search."""

import os

# Query-time vector maths are single matrix-vector products. Multi-threaded OpenBLAS spends
# more waking its threads than computing them: a 35,579 x 384 scan took 8.0 ms with its default
# threads and 1.8 ms with one, here on 2 cores (more under load). Only takes effect if numpy
# is not imported yet; an explicit setting in the environment wins.
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
