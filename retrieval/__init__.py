"""Articles in, passages out: sources -> cleaning -> splitting -> index -> search."""

import os

# Query-time vector maths are single matrix-vector products. Multi-threaded OpenBLAS spends
# more waking its threads than computing them: a 35,579 x 384 scan took 8.0 ms with its default
# threads and 1.8 ms with one, here on 2 cores (more under load). Only takes effect if numpy
# is not imported yet; an explicit setting in the environment wins.
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# onnxruntime's Linux and macOS wheels (1.32 here) carry Microsoft's 1DS telemetry: on import,
# before any model is loaded, it writes a device id and an event queue for upload (a SQLite
# database) to ~/.cache/Microsoft/DeveloperTools/.onnxruntime ($XDG_CACHE_HOME if set).
# ORT_DISABLE_TELEMETRY=1, read once as onnxruntime initialises, turns all of it off: no device
# id, no cache, no uploader. A newsdesk question should leave nothing in the user's home; an
# explicit ORT_DISABLE_TELEMETRY=0 in the environment wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
