"""What a statement on the restored file may do, decided by SQLite while it compiles it.

SQLite calls the authorizer for every action the compiled program of a statement will
take (each table and column read, each function, each pragma, ATTACH, every write, every
temporary object), on the text SQLite itself parsed: there is no second reading that could
differ from the vetting. A denied action makes the statement fail to prepare, before any
of it runs. Two policies share one callback installed for the whole session:

- the engine's own probes: reading ``main``, the pragmas the catalog loader reads, and
  the built-in functions below;
- a rule's probe (``user_probe``, a ``sql`` rule's query, a ``unique`` expression):
  reading ``main`` (tables, views, the built-in eponymous virtual tables such as
  ``json_each``), the read-only schema pragmas as table-valued functions
  (``pragma_table_info(...)``), recursive CTEs, and only the built-in functions that read
  their arguments and nothing else. Everything else is denied: ATTACH/DETACH, every
  write, every CREATE/DROP (temporary objects too), transactions and savepoints, every
  other pragma, ``load_extension`` (also disabled in the library: Python never enables
  it), ``fts3_tokenizer``, ``sqlite_compileoption_*``, and any function not listed here
  (the sqlite3 shell's ``readfile``/``writefile``/``edit`` do not exist in the library
  and would be denied if they did). The first denied action is remembered, so the rule's
  error names it in one line. During a rule's probe no value may exceed
  ``USER_VALUE_LIMIT`` bytes (``randomblob(1e9)``, ``printf('%.*c', ...)``), and the
  session's progress handler stops it at ``--statement-timeout`` (a runaway recursive CTE).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

# SQLite's built-in functions that read their arguments (and the statement's rows) only.
# Randomness and the clock are reads; sizes are bounded by SQLITE_LIMIT_LENGTH.
FUNCTIONS = frozenset(
    """
abs char coalesce concat concat_ws format glob hex ifnull iif instr length like likelihood
likely lower ltrim max min nullif octet_length printf quote replace round rtrim sign soundex
substr substring trim typeof unhex unicode unistr unlikely upper zeroblob random randomblob
date time datetime julianday unixepoch strftime timediff current_date current_time
current_timestamp acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp
floor ln log log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc
avg count group_concat string_agg sum total json_group_array json_group_object
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
nth_value json json_array json_array_length json_extract json_insert json_object json_patch
json_remove json_replace json_set json_type json_valid json_quote -> ->>
""".split()  # noqa: SIM905 - a word list reads best as text
)
# what the engine's own probes call besides
ENGINE_FUNCTIONS = FUNCTIONS | {"sqlite_version"}
# pragmas the catalog loader and the quick_check item read
ENGINE_PRAGMAS = frozenset(
    {"table_xinfo", "index_list", "index_info", "foreign_key_list", "quick_check"}
)
# pragmas a rule may read as table-valued functions: the schema, never a setting
USER_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
    }
)
USER_VALUE_LIMIT = 64 * 1024 * 1024  # bytes in one string or blob during a rule's probe
LIMIT_LENGTH, LIMIT_ATTACHED = 0, 7  # sqlite3.h's SQLITE_LIMIT_LENGTH, SQLITE_LIMIT_ATTACHED
_READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}
_TRANSACTION = {"BEGIN", "ROLLBACK"}
_ACTIONS = {
    getattr(sqlite3, f"SQLITE_{name}"): name.lower().replace("_", " ")
    for name in """CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE
    CREATE_TEMP_TRIGGER CREATE_TEMP_VIEW CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX
    DROP_TABLE DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER DROP_TEMP_VIEW DROP_TRIGGER
    DROP_VIEW INSERT UPDATE ATTACH DETACH ALTER_TABLE REINDEX ANALYZE CREATE_VTABLE
    DROP_VTABLE SAVEPOINT TRANSACTION""".split()  # noqa: SIM905 - a word list
}


class Authorizer:
    """The session's one authorizer callback; ``user_probe`` switches it to the rule policy."""

    def __init__(self) -> None:
        self.user = False
        self.denied: str | None = None  # the first action a rule's probe was refused

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, _: object
    ) -> int:
        policy = self._user if self.user else _engine
        allowed = policy(action, arg1, arg2, db)
        if allowed:
            return sqlite3.SQLITE_OK
        if self.user and self.denied is None:
            self.denied = _describe(action, arg1, arg2, db)
        return sqlite3.SQLITE_DENY

    @staticmethod
    def _user(action: int, arg1: str | None, arg2: str | None, db: str | None) -> bool:
        if action in _READING:
            return db in (None, "main")
        if action == sqlite3.SQLITE_FUNCTION:
            return (arg2 or "").lower() in FUNCTIONS
        if action == sqlite3.SQLITE_PRAGMA:
            return (arg1 or "").lower() in USER_PRAGMAS
        return _schema_read(action, arg1, db)

    @contextmanager
    def user_probe(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Run a rule's statement under the rule policy and the value-size bound."""
        self.user, self.denied = True, None
        before = set_limit(conn, LIMIT_LENGTH, USER_VALUE_LIMIT)
        try:
            yield
        finally:
            if before is not None:
                set_limit(conn, LIMIT_LENGTH, before)
            self.user = False


def set_limit(conn: sqlite3.Connection, limit: int, value: int) -> int | None:
    """``Connection.setlimit`` (Python 3.11+); on 3.10 no limit is set and None is returned:
    the authorizer still holds, and the statement timeout bounds what a value can grow to."""
    setlimit = getattr(conn, "setlimit", None)
    return int(setlimit(limit, value)) if setlimit is not None else None


def _engine(action: int, arg1: str | None, arg2: str | None, db: str | None) -> bool:
    if action in _READING:
        return db in (None, "main")
    if action == sqlite3.SQLITE_FUNCTION:
        return (arg2 or "").lower() in ENGINE_FUNCTIONS
    if action == sqlite3.SQLITE_PRAGMA:
        return (arg1 or "").lower() in ENGINE_PRAGMAS
    if action == sqlite3.SQLITE_TRANSACTION:
        return (arg1 or "").upper() in _TRANSACTION
    return _schema_read(action, arg1, db)


def _schema_read(action: int, arg1: str | None, db: str | None) -> bool:
    """Asked while SQLite connects an eponymous virtual table or re-reads its schema: the
    connection is ``mode=ro`` and ``query_only``, and no statement of ours writes."""
    return action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master" and db == "main"


def _describe(action: int, arg1: str | None, arg2: str | None, db: str | None) -> str:
    if action == sqlite3.SQLITE_FUNCTION:
        return f"function {arg2}() is not one of SQLite's side-effect-free built-ins"
    if action == sqlite3.SQLITE_PRAGMA:
        return f"pragma {arg1} is not a schema read"
    if action in _READING:
        return f"it reads database {db!r}; rules read only the restored file (main)"
    what = _ACTIONS.get(action, f"action {action}")
    target = " ".join(str(a) for a in (arg1, arg2) if a)
    return f"{what}{' ' + target if target else ''}: rules only read"
