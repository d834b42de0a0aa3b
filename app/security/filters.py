"""The FAB face of the row filter: one ``BaseFilter`` that every view and API uses as
its base filter and for its related-field dropdowns."""

from flask_appbuilder.models.filters import BaseFilter

from app.security.scope import scope_query


class ScopeFilter(BaseFilter):
    name = "scope"
    arg_name = None

    def apply(self, query, value):
        return scope_query(self.model, query)


# Ready-made arguments for ``base_filters`` and ``*_query_rel_fields``.
SCOPED = [["id", ScopeFilter, lambda: None]]
