"""The bot's own state (answers, feedback, conversations, source status, reindex jobs).

One small data layer over SQLite (the default, a file in the data directory) or the same
PostgreSQL database as the index when ``store.backend`` is postgres, with numbered migrations.
No discord imports: the Discord front end and the CLI both use :func:`open_state`.
"""

from bot.state.database import Database, open_database
from bot.state.migrations import MIGRATIONS, migrate
from bot.state.store import ReindexJob, SourceStatus, StateStore, open_state

__all__ = [
    "MIGRATIONS",
    "Database",
    "ReindexJob",
    "SourceStatus",
    "StateStore",
    "migrate",
    "open_database",
    "open_state",
]
