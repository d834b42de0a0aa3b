"""Extension objects, created unbound and initialised in the app factory."""

from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

# FAB's SQLA flavour of Flask-SQLAlchemy. Our models and FAB's security tables share
# ``flask_appbuilder.Model.metadata``; Alembic's env.py targets that metadata.
db = get_sqla_class()()
migrate = Migrate()
# Every POST of a screen carries its form's token. Registered before FAB, so that FAB
# exempts its REST APIs (JWT only: allow_browser_login is off on every API that
# writes) and refuses to delete or run an action on a GET.
csrf = CSRFProtect()

# Execution options for a long read-only transaction (a report): on SQLite it begins
# deferred, reading one WAL snapshot without taking the write lock.
READ_SNAPSHOT = {"sqlite_read_snapshot": True}


def configure_sqlite(engine):
    """SQLite, the embedded default, with several clerks at once: every transaction
    takes the write lock when it begins (``BEGIN IMMEDIATE``) and waits for it, so two
    transactions that both read and then write queue up instead of one failing with
    "database is locked"; WAL lets readers outside transactions go on meanwhile."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        if connection.get_execution_options().get("sqlite_read_snapshot"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
