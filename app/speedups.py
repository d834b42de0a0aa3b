"""What Flask-AppBuilder and Flask-Babel redo on every call that needs doing once,
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
  Each translation then looked its catalogue up by the locale's name, which Babel
  builds anew each time (``str(locale)``); a request now keeps the catalogue it found
  for its locale, and looks again when the locale changes (``force_locale``, ``refresh``).
- FAB's ``Filters`` (a screen's search and its row filters, several per request) builds
  every column's filter objects from the model each time: about a tenth of a work-queue
  page. A datamodel now keeps the ones it built: they hold nothing but the column and
  the datamodel, and the lists handed out are copies, as before.
- A list's page, page-size and order links (FAB's ``link_page``, ``link_page_size``
  and ``link_order`` filters) each built the whole URL with ``url_for``: a dozen and
  more per list page. The page's own path is now built once per request and each link
  adds its query string the way Werkzeug writes it; where ``url_for`` would read an
  argument differently (a route variable, one of its own ``_external``-like keywords),
  it is still used.
- Every page wrote FAB's menu again: a permission check, a translation and a
  ``url_for`` per entry. What it shows depends on the user's roles, the language and
  where the app is mounted, nothing else; for users whose roles are all built in
  (``FAB_ROLES``, fixed at start) it is written once per such combination and kept.
  Users with roles kept in the database get it written each time, as before.
- The page layout asks ``url_for`` for its 18 style sheets and scripts; a static
  file's URL depends on the file and the mount point only, and is kept.
- A template's ``{{ _("…") }}`` went through Jinja's i18n extension: the ``_`` alias
  looks ``gettext`` up in the context and calls it, which calls Flask-Babel's callable,
  each through ``Context.call``; some 60 translations a work-queue page, 5-7 µs each.
  ``_`` and ``gettext`` now translate in one call, with the same result: the
  catalogue's message, as markup when the template escapes, formatted with its
  variables (always, as Jinja's new-style gettext does: ``%%`` is a percent sign).
- Every list and page FAB shows pushes its URL on the "back" history it keeps in the
  session (``update_redirect``), and stores the history again even when that URL was
  already on top, as on every reload or filter of the work queue: the session counts
  as changed, and the whole cookie is signed and sent anew. It is stored only when it
  changes; what it holds is the same.
"""

from types import SimpleNamespace

import flask_babel
import jsonschema
from flask import current_app, g, request, session, url_for
from flask.globals import _cv_app
from flask_login import current_user
from jinja2 import pass_context
from jsonschema.exceptions import best_match
from markupsafe import Markup
from werkzeug.urls import _urlencode  # what url_for writes a query string with (pinned Werkzeug)


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


def locale_name():
    """``str(flask_babel.get_locale())``, kept in the request's Babel state for the
    locale it was found for (Babel writes the name anew on every ``str``): the work
    queue asks it for every date and time-left cell."""
    locale = flask_babel.get_locale()
    ctx = babel_context()
    if ctx is None:
        return str(locale)
    kept = ctx.__dict__.get("locale_name")
    if kept is None or kept[0] is not locale:
        kept = ctx.locale_name = (locale, str(locale))
    return kept[1]


def kept_translations(get_translations):
    """``Domain.get_translations`` that keeps, in the request's Babel state, the
    catalogue found for the request's locale (Flask-Babel finds it by ``str(locale)``,
    which Babel builds anew on every call)."""

    def translations(domain):
        ctx = babel_context()
        if ctx is None:
            return get_translations(domain)
        locale = flask_babel.get_locale()
        kept = ctx.__dict__.setdefault("kept_translations", {})
        found = kept.get(domain)
        if found is None or found[0] is not locale:
            found = kept[domain] = (locale, get_translations(domain))
        return found[1]

    translations.original = get_translations
    return translations


def kept_filters(get_filters):
    """``Filters._get_filters`` that builds each column's filter objects once per
    datamodel (they hold the column and the datamodel only) and hands out copies of
    the lists, as FAB extends them in place."""

    def filters(self, cols):
        kept = self.datamodel.__dict__.setdefault("kept_filters", {})
        key = (self.filter_converter, tuple(cols))
        built = kept.get(key)
        if built is None:
            built = kept[key] = get_filters(self, cols)
        return {column: list(found) for column, found in built.items()}

    filters.original = get_filters
    return filters


URL_FOR_KEYWORDS = frozenset({"_anchor", "_method", "_scheme", "_external"})


def this_url_with(query, written=None):
    """``url_for`` this request's endpoint and route variables with these query
    arguments (a dict), as FAB's list links call it; the path is built once per
    request and the query string written as Werkzeug writes it (or as ``written``,
    the same arguments written already)."""
    here = g.get("_list_link_here")
    if here is None or here[0] is not request.url_rule:
        rule, endpoint, view_args = request.url_rule, request.endpoint, request.view_args
        path = url_for(endpoint, **view_args) if rule is not None and not rule.defaults else None
        here = g._list_link_here = (rule, endpoint, view_args, path, URL_FOR_KEYWORDS | (rule.arguments if rule else set()))
    _rule, endpoint, view_args, path, read_apart = here
    if path is None or not read_apart.isdisjoint(query):
        return url_for(endpoint, **{**view_args, **query})
    if written is None:
        written = _urlencode(query)
    return f"{path}?{written}" if written else path


def this_query():
    """This request's query arguments as FAB's links start from them (the first of
    repeated ones, in their order), and the same written as a query string: once a
    request."""
    kept = g.get("_list_link_query")
    if kept is None or kept[0] is not request.args:
        query = request.args.to_dict()
        kept = g._list_link_query = (request.args, query, _urlencode(query))
    return kept[1], kept[2]


def list_link(prefix):
    """FAB's ``link_page``/``link_page_size`` filter: this request's URL with
    ``<prefix><view name>`` set to the value and every other argument kept (the first
    of repeated ones, as FAB does), in the same order. The page's other arguments are
    written once a request; each link adds its own at the end (where FAB puts a new
    one), or is written whole when it replaces one already there."""

    def link(value, modelview_name):
        key = prefix + modelview_name
        query, written = this_query()
        linked = {**query, key: value}
        if key in query or value is None:
            return this_url_with(linked)
        own = _urlencode({key: value})
        return this_url_with(linked, f"{written}&{own}" if written else own)

    return link


page_link, page_size_link = list_link("page_"), list_link("psize_")


def order_link(column, modelview_name):
    """FAB's ``link_order`` filter: this request's URL ordered by the column,
    ascending, or the other way round when it is ordered by a column already."""
    args = request.args.copy()
    ordered = ("_oc_" + modelview_name) in args
    args["_oc_" + modelview_name] = column
    args["_od_" + modelview_name] = "desc" if ordered and args.get("_od_" + modelview_name) == "asc" else "asc"
    return this_url_with(args.to_dict())


FAB_MENU_TEMPLATE = "appbuilder/navbar_menu.html"


def fab_menu_template(app):
    """FAB's own menu template, read from FAB's blueprint: the app's template of the same
    name (``{{ navbar_menu() }}``) stands in front of it."""
    template = app.extensions.get("fab_menu_template")
    if template is None:
        source, _filename, _uptodate = app.blueprints["appbuilder"].jinja_loader.get_source(
            app.jinja_env, FAB_MENU_TEMPLATE)
        template = app.extensions["fab_menu_template"] = app.jinja_env.from_string(source)
    return template


def navbar_menu():
    """FAB's menu as this user sees it, kept per (built-in roles, language, mount point)."""
    app, appbuilder = current_app, current_app.appbuilder
    sm = appbuilder.sm

    def written():
        return Markup(fab_menu_template(app).render(menu=appbuilder.menu))  # noqa: S704 (a template)

    names = frozenset(role.name for role in sm.get_user_roles(current_user))
    if not names <= sm.builtin_roles.keys():
        return written()
    kept = app.extensions.setdefault("navbar_menu", {})
    key = (names, locale_name(), request.script_root)
    html = kept.get(key)
    if html is None:
        html = kept[key] = written()
    return html


def static_url_for(url_for):
    """The layout's ``url_for``, keeping the URLs of static files (``static`` and a
    blueprint's ``<name>.static`` with only a ``filename``) per mount point."""
    kept = {}

    def url(endpoint, **values):
        if (endpoint == "static" or endpoint.endswith(".static")) and values.keys() == {"filename"}:
            key = (endpoint, values["filename"], request.script_root)
            found = kept.get(key)
            if found is None:
                found = kept[key] = url_for(endpoint, **values)
            return found
        return url_for(endpoint, **values)

    return url


@pass_context
def template_gettext(context, string, **variables):
    """Jinja's new-style ``gettext`` over Flask-Babel's callable
    (``get_translations().ugettext``) in one call; ``_`` is the same."""
    translated = flask_babel.get_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        translated = Markup(translated)  # noqa: S704 (a catalogue message, as Jinja marks it)
    return translated % variables


def install_template_filters(app):
    """After FAB's and Flask-Babel's own: the list links built faster, the kept menu
    and static URLs, the one-call translation."""
    app.jinja_env.filters["link_page"] = page_link
    app.jinja_env.filters["link_page_size"] = page_size_link
    app.jinja_env.filters["link_order"] = order_link
    app.jinja_env.globals["navbar_menu"] = navbar_menu
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = template_gettext
    if not any(app.url_default_functions.values()):  # nothing rewrites a URL's values
        app.jinja_env.globals["url_for"] = static_url_for(app.url_for)


def kept_redirect(update_redirect):
    """FAB's ``BaseView.update_redirect`` that leaves the session alone when this URL is
    already the history's last (FAB's ``Stack`` would not push it again)."""

    def update(self):
        history = session.get("page_history")
        if history and history[-1] == request.url:
            return
        update_redirect(self)

    update.original = update_redirect
    return update


def install():
    import flask_appbuilder.api
    from flask_appbuilder.baseviews import BaseView
    from flask_appbuilder.models.filters import Filters

    if not isinstance(flask_appbuilder.api.jsonschema, CheckedOnceJsonschema):
        flask_appbuilder.api.jsonschema = CheckedOnceJsonschema()
    flask_babel._get_current_context = babel_context
    if not hasattr(flask_babel.Domain.get_translations, "original"):
        flask_babel.Domain.get_translations = kept_translations(flask_babel.Domain.get_translations)
    if not hasattr(Filters._get_filters, "original"):
        Filters._get_filters = kept_filters(Filters._get_filters)
    if not hasattr(BaseView.update_redirect, "original"):
        BaseView.update_redirect = kept_redirect(BaseView.update_redirect)
