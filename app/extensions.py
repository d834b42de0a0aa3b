"""Extension objects, created unbound and initialised in the app factory."""

from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate

# FAB's SQLA flavour of Flask-SQLAlchemy. Our models and FAB's security tables share
# ``flask_appbuilder.Model.metadata``; Alembic's env.py targets that metadata.
db = get_sqla_class()()
migrate = Migrate()
