"""Thin bases for generated screens and APIs: they declare, the security package decides."""

from functools import lru_cache

from flask import g
from flask_appbuilder import ModelRestApi, ModelView
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

from app import speedups
from app.domain.labels import (  # noqa: F401  (re-exported)
    CIRCUMSTANCE_LABELS,
    FACT_CATEGORY_LABELS,
    FORM_LABELS,
    REGION_LEVEL_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
)
from app.security.filters import SCOPED
from app.security.scope import check_writable


def business_date(value):
    """A date the Chinese way in ``zh`` (2026年12月3日), the English way in ``en``."""
    return _long_date(speedups.locale_name(), value) if value else ""


@lru_cache(maxsize=4096)
def _long_date(locale, value):
    """A date as Babel writes it long in this locale (the request's: the key only keeps
    the two apart). Deadlines repeat from row to row and page to page."""
    return format_date(value, "long")


def business_datetime(value):
    return format_datetime(value, "medium") if value else ""


class ScopedModelView(ModelView):
    """A generated screen whose every query, dropdown and write goes through the one
    row filter of ``app.security.scope``."""

    base_filters = SCOPED
    page_size = 25

    def _scope_related_fields(self):
        """Every relation's dropdown (add, edit and search forms) lists only the rows
        the user may see, by default: a view that names a relation's filters itself
        gets them on top of the row filter, never instead of it."""
        relations = [name for name in self.datamodel.get_columns_list() if self.datamodel.is_relation(name)]
        for attribute in ("add_form_query_rel_fields", "edit_form_query_rel_fields", "search_form_query_rel_fields"):
            own = getattr(self, attribute) or {}
            scoped = {name: SCOPED + [f for f in own.get(name, []) if f not in SCOPED] for name in relations}
            setattr(self, attribute, dict(own, **scoped))

    def __init__(self, **kwargs):
        self._scope_related_fields()
        super().__init__(**kwargs)
        # FAB prints an empty value as "None" and a flag as "True": columns without a
        # formatter of their own show nothing and 是/否 instead.
        shown = set(self.list_columns or ()) | set(self.show_columns or ())
        self.formatters_columns = {**{name: plain for name in shown}, **self.formatters_columns}

    def pre_add(self, item):
        check_writable(item)

    def pre_update(self, item):
        check_writable(item)

    def pre_delete(self, item):
        check_writable(item)


class ReadOnlyScopedApi(ModelRestApi):
    """REST reads (``GET /<id>`` and ``GET /``) under the same row filter; writes
    are operations of their own, not generic PUT/POST/DELETE."""

    base_filters = SCOPED
    include_route_methods = {"get", "get_list"}
    # JWT only: a browser session must not be able to drive the API (no CSRF token there).
    allow_browser_login = False

    def _handle_columns_args(self, args, default_select_columns, default_response_columns):
        """Rows are always those of the API's schemas: a ``columns`` argument would
        make FAB build a schema from the raw model and bypass what they mask."""
        return default_select_columns, []


def current_user():
    return getattr(g, "user", None)


def label_of(labels):
    return lambda value: labels.get(value, value or "")


def yes_no(value):
    return _l("Yes") if value else _l("No")


def plain(value):
    """A value as a Chinese back office shows it: nothing for None, 是/否 for a flag."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    return value


def role_names(roles):
    return "、".join(str(ROLE_LABELS.get(role.name, role.name)) for role in roles or ())


def names(rows):
    return "、".join(str(row) for row in rows or ())
