"""What a notification says: a title and a text for the app and e-mail (in the
reader's language, Chinese by default), the family's SMS (plain Chinese, data in the
language of the notice, like the PDFs), and the webhook's JSON."""

import datetime
import json

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from app.models.notify import (
    CASE_COMPLETED,
    DAILY_DIGEST,
    DUE_SOON,
    OVERDUE,
    SUPPLEMENT_REQUESTED,
    TASK_CANCELLED,
    TASK_COMPLETED,
    TASK_READY,
    TASK_REJECTED,
    TASK_URGED,
)

EVENT_LABELS = {
    TASK_READY: _l("Task ready"),
    SUPPLEMENT_REQUESTED: _l("Supplement requested"),
    TASK_COMPLETED: _l("Task completed"),
    TASK_REJECTED: _l("Task rejected"),
    DUE_SOON: _l("Due soon"),
    OVERDUE: _l("Overdue"),
    TASK_URGED: _l("Urged"),
    CASE_COMPLETED: _l("Case completed"),
    DAILY_DIGEST: _l("Daily digest"),
    TASK_CANCELLED: _l("Task cancelled"),
}

_TITLES = {
    TASK_READY: _l("New task: %(item)s"),
    SUPPLEMENT_REQUESTED: _l("Supplement requested: %(item)s"),
    TASK_COMPLETED: _l("Completed: %(item)s"),
    TASK_REJECTED: _l("Rejected: %(item)s"),
    DUE_SOON: _l("Due soon: %(item)s"),
    OVERDUE: _l("Overdue: %(item)s"),
    TASK_URGED: _l("Urged: %(item)s"),
    CASE_COMPLETED: _l("Case %(case_no)s completed"),
    DAILY_DIGEST: _l("Daily digest for %(date)s"),
    TASK_CANCELLED: _l("Cancelled: %(item)s"),
}

_TEXTS = {
    TASK_READY: _l("Case %(case_no)s (%(deceased)s): %(item)s is ready for %(department)s, due %(deadline)s."),
    SUPPLEMENT_REQUESTED: _l("Case %(case_no)s: %(department)s asks for a supplement to %(item)s: "
                             "%(materials)s. %(note)s"),
    TASK_COMPLETED: _l("Case %(case_no)s: %(department)s completed %(item)s."),
    TASK_REJECTED: _l("Case %(case_no)s: %(department)s will not handle %(item)s. Reason: %(reason)s"),
    DUE_SOON: _l("Case %(case_no)s: %(item)s is due %(deadline)s, one working day from now."),
    OVERDUE: _l("Case %(case_no)s: %(item)s of %(department)s was due %(deadline)s and is overdue."),
    TASK_URGED: _l("Case %(case_no)s: %(user)s urges %(item)s: %(note)s"),
    CASE_COMPLETED: _l("Every item of case %(case_no)s (%(deceased)s) is finished; the completion notice "
                       "can be printed."),
    DAILY_DIGEST: _l("Open tasks: %(open)s; overdue: %(overdue)s; due within one working day: %(due_soon)s; "
                     "completed yesterday: %(completed)s; cases registered yesterday: %(registered)s."),
    TASK_CANCELLED: _l("Case %(case_no)s was cancelled by %(window)s; %(item)s is closed and needs nothing more "
                       "from %(department)s. Reason: %(reason)s"),
}


def params_of(notification):
    try:
        return json.loads(notification.params or "{}")
    except ValueError:
        return {}


def _display(params):
    """Dates as the reader reads them; missing values as a dash."""
    from app.views.base import business_date

    shown = {}
    for key, value in params.items():
        if key in ("deadline", "date", "payout_expected_date") and value:
            value = business_date(datetime.date.fromisoformat(value))
        shown[key] = "—" if value in (None, "") else value
    return _Defaults(shown)


class _Defaults(dict):
    def __missing__(self, key):
        return "—"


def title(notification):
    template = _TITLES.get(notification.event)
    return str(template) % _display(params_of(notification)) if template else notification.event


def text(notification):
    template = _TEXTS.get(notification.event)
    return str(template) % _display(params_of(notification)) if template else ""


def in_language(locale, func, *args):
    with force_locale(locale):
        return func(*args)


def email(notification, link):
    """(subject, body) of an e-mail, in the back office's default language."""
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    with force_locale(locale):
        subject = f"[{current_app.config['SMS_SIGN_NAME']}] {title(notification)}"
        body = text(notification)
        if link:
            body += "\n\n" + gettext("Open: %(link)s", link=link)
    return subject, body


# The family's SMS: plain Chinese, what happened and what happens next.
_SMS = {
    SUPPLEMENT_REQUESTED: "您好，案件{case_no}的“{item}”需要补充材料：{materials}。请到{window}补交，补交后继续办理。",
    TASK_COMPLETED: "您好，案件{case_no}的“{item}”已办结{payout}。{next}",
    TASK_REJECTED: "您好，案件{case_no}的“{item}”不予办理，原因：{reason}。如有疑问请联系{window}。",
    CASE_COMPLETED: "您好，案件{case_no}的全部事项已办结，请到{window}领取办结告知书。",
}


def sms_text(notification):
    """The SMS to the family (or a clerk who asked for SMS), signed 【…】."""
    params = _Defaults(params_of(notification))
    template = _SMS.get(notification.event)
    if template is None:  # a clerk's SMS: the title of the app's message, in Chinese
        body = in_language(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh"), text, notification)
    else:
        if params.get("amount") and params.get("payout_expected_date"):
            arrival = datetime.date.fromisoformat(params["payout_expected_date"])
            params["payout"] = f"，{params['amount']}元预计{arrival.year}年{arrival.month}月{arrival.day}日前到账"
        else:
            params["payout"] = ""
        # The last open task: the case-completed SMS follows and says what to do next.
        params["next"] = "" if params.get("open_tasks") == 0 else "其余事项仍在办理，全部办结后将短信告知您。"
        for key in ("materials", "reason", "window"):
            params.setdefault(key, "")
        body = template.format_map(params)
    return f"【{current_app.config['SMS_SIGN_NAME']}】{body}"


def webhook_payload(notification, link):
    """The JSON a department's own system receives: codes, not personal data (the
    system reads the case through the API with its own account)."""
    params = params_of(notification)
    return {
        "event": notification.event,
        "key": notification.key,
        "occurred_at": notification.created_at.replace(tzinfo=datetime.UTC).isoformat(),
        "case_number": params.get("case_no"),
        "case_id": notification.case_id,
        "task_id": notification.task_id,
        "item_code": params.get("item_code"),
        "department_code": params.get("department_code"),
        "status": params.get("status"),
        "deadline": params.get("deadline"),
        "link": link,
    }
