"""The bot's database: every answer it posted, the 👍/👎 votes, reindex jobs.

It is the core's state layer (:mod:`bot.state`: SQLite in the data directory, or the index's
PostgreSQL), named here for the bot. A maintainer reviews bad answers with plain SQL, e.g.
``SELECT question, answer, citations FROM answers JOIN votes USING (answer_id) WHERE vote < 0``.
"""

from bot.state import StateStore as AnswerLog
from bot.state import open_state

__all__ = ["AnswerLog", "open_state"]
