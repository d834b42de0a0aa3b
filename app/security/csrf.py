"""A screen's POST whose form token is missing, expired or from another site: nothing is
done, and the user is told so in their language and sent back to the page they came
from (Flask-WTF would answer a bare English 400)."""

from flask import flash, redirect, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError


def refused_form(error):
    flash(gettext("The form had expired or did not come from this back office, so nothing was saved. "
                  "Please fill it in and send it again."), "danger")
    back = request.referrer or ""
    return redirect(back if back.startswith(request.host_url) else "/")


def install(app):
    app.register_error_handler(CSRFError, refused_form)
