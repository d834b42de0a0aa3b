"""Two things Flask-AppBuilder and Flask-Babel redo on every call that need doing once,
measured on the work queue and its API (``benchmarks/task_list.py``).

- FAB's REST reads validate their ``?q=`` argument (Rison) against a JSON schema with
  ``jsonschema.validate``, which first checks the schema itself against JSON Schema's
  metaschema: on every request, 12.8 ms of a 50 ms ``GET /api/v1/task/`` here, for a
  schema that never changes. FAB's API module gets a ``jsonschema`` whose ``validate``
  checks each schema once and keeps its validator; the instance is validated exactly
  as before (the same error: ``best_match`` of the same errors).
- Flask-Babel finds its per-request state (``g._flask_babel``: the locale, the domain)
  through three lookups of Flask's ``g`` proxy per ``gettext``: 20 µs a translation,
  some 150 translations a page. The same state is read straight from the application
  context (2-4 µs); what it returns, and when (None outside a context), is unchanged.
"""

from types import SimpleNamespace

import jsonschema
from flask.globals import _cv_app
from jsonschema.exceptions import best_match


class CheckedOnceJsonschema:
    """The part of the ``jsonschema`` module FAB's API uses (``validate``,
    ``ValidationError``), with each schema checked against its metaschema once."""

    ValidationError = jsonschema.ValidationError

    def __init__(self):
        self._validators = {}  # id(schema) → (schema, validator): the schema kept alive

    def validate(self, instance, schema):
        known = self._validators.get(id(schema))
        if known is None or known[0] is not schema:
            validator_class = jsonschema.validators.validator_for(schema)
            validator_class.check_schema(schema)
            known = self._validators[id(schema)] = (schema, validator_class(schema))
        error = best_match(known[1].iter_errors(instance))
        if error is not None:
            raise error


def babel_context():
    """``flask_babel._get_current_context`` without going through the ``g`` proxy."""
    ctx = _cv_app.get(None)
    if ctx is None:
        return None
    try:
        return ctx.g._flask_babel
    except AttributeError:
        ctx.g._flask_babel = SimpleNamespace()
        return ctx.g._flask_babel


def install():
    import flask_appbuilder.api
    import flask_babel

    if not isinstance(flask_appbuilder.api.jsonschema, CheckedOnceJsonschema):
        flask_appbuilder.api.jsonschema = CheckedOnceJsonschema()
    flask_babel._get_current_context = babel_context
