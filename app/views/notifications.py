"""The notifier's screens: each user's in-app inbox (and the menu's unread count),
and for administrators the outbox with its retry action and the recorded SMS."""

from flask import abort, flash, g, has_request_context, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import bindparam, false, func, select, update

from app.extensions import db
from app.models.case import utcnow
from app.models.notify import EMAIL, FAILED, IN_APP, PENDING, SENDING, SENT, SMS, WEBHOOK, Notification, SmsMessage
from app.notify import messages, outbox
from app.notify.delivery import retry_failed
from app.security.scope import inbox_clause
from app.views.base import ScopedModelView, business_datetime, label_of

CHANNEL_LABELS = {IN_APP: _l("In the app"), EMAIL: _l("E-mail"), SMS: _l("SMS"), WEBHOOK: _l("Webhook")}
DELIVERY_LABELS = {PENDING: _l("Pending"), SENDING: _l("Sending"), SENT: _l("Sent"), FAILED: _l("Failed")}

NOTIFICATION_LABELS = {
    "created_at": _l("Time"),
    "event": _l("Kind"),
    "title": _l("Title"),
    "link": _l("Title"),
    "text": _l("Message"),
    "case_no": _l("Case number"),
    "read": _l("Read"),
    "channel": _l("Channel"),
    "recipient": _l("Recipient"),
    "user": _l("User"),
    "department": _l("Department"),
    "address": _l("Address"),
    "status": _l("Delivery"),
    "attempts": _l("Attempts"),
    "last_error": _l("Last error"),
    "error": _l("Last error"),
    "sent_at": _l("Sent at"),
    "read_at": _l("Read at"),
    "key": _l("Idempotency key"),
    "next_attempt_at": _l("Next attempt"),
    "case": _l("Case"),
    "task": _l("Task"),
}


def signed_in_user():
    user = getattr(g, "user", None) if has_request_context() else None
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# The bell's COUNT, built once (it runs on every page and every poll) on the table, not
# the mapped class: a plain statement, without the ORM's per-execution compile step.
UNREAD_COUNT = select(func.count()).select_from(Notification.__table__).where(
    inbox_clause(bindparam("user_id"), Notification.__table__.c), Notification.__table__.c.read_at.is_(None),
)


def unread_count(user_id):
    """One COUNT over ix_notification_inbox: the in-app notifications delivered to the
    user (``scope.inbox_clause``) not read yet."""
    return db.session.connection().execute(UNREAD_COUNT, {"user_id": user_id}).scalar_one()


def unread_notifications():
    """The menu's bell (a template global): the signed-in user's unread count."""
    user = signed_in_user()
    return unread_count(user.id) if user is not None else 0


def mark_read(session, user_id, ids=None):
    """Mark the user's notifications read (these ``ids`` or all); returns how many
    were unread. Another user's rows are never touched."""
    statement = update(Notification).where(inbox_clause(user_id), Notification.read_at.is_(None))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    return session.execute(statement.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount


def target_url(notification):
    """Where a notification leads: its task, else its case, else its own page."""
    if notification.task_id:
        return url_for("TaskView.show", pk=notification.task_id)
    if notification.case_id:
        return url_for("CaseView.show", pk=notification.case_id)
    return url_for("NotificationView.show", pk=notification.id)


def recipient(notification):
    if notification.user is not None:
        return notification.user.username
    if notification.department is not None:
        return str(notification.department)
    return notification.address or ""


def short(value, length=80):
    value = value or ""
    return value if len(value) <= length else value[: length - 1] + "…"


class NotificationInterface(SQLAInterface):
    """Columns computed from a row: its title and text in the reader's language (from
    ``params``, so a page of the inbox needs no other query), the case number as the
    message gave it, whether it was read, and its recipient."""

    def _get_attr_value(self, item, col):
        if col == "title":
            return messages.title(item)
        if col == "text":
            return messages.text(item)
        if col == "link":  # the inbox's title: follow it to the task (and it is read)
            title = Markup("<strong>{}</strong>").format(messages.title(item)) if item.read_at is None \
                else messages.title(item)
            return Markup('<a href="{}">{}</a>').format(url_for("NotificationView.open", pk=item.id), title)
        if col == "case_no":
            return messages.params_of(item).get("case_no") or ""
        if col == "read":
            return item.read_at is not None
        if col == "recipient":
            return recipient(item)
        if col == "error":  # the list shows the start of the error, the row's page all of it
            return short(item.last_error)
        return super()._get_attr_value(item, col)


class InboxFilter(BaseFilter):
    """The signed-in user's own delivered in-app notifications, whatever their roles
    (an administrator's inbox is theirs too); ``?unread=1`` keeps the unread ones."""

    name = "inbox"
    arg_name = None

    def apply(self, query, value):
        user = signed_in_user()
        if user is None:
            return query.filter(false())
        query = query.filter(inbox_clause(user.id))
        if request.args.get("unread"):
            query = query.filter(Notification.read_at.is_(None))
        return query


def read_label(read):
    if read:
        return _l("Read")
    return Markup('<span class="label label-primary">{}</span>').format(_l("Unread"))


class NotificationView(ModelView):
    """The inbox. Read-only: the only writes are marking one's own rows read."""

    datamodel = NotificationInterface(Notification)
    base_filters = [["id", InboxFilter, lambda: None]]
    base_permissions = ["can_list", "can_show", "can_open", "can_unread", "can_mark_read"]
    # The action, the "all" button and their permission share one name.
    method_permission_name = {"mark_read": "mark_read", "mark_all_read": "mark_read"}
    list_title = _l("Notifications")
    show_title = _l("Notification")
    list_columns = ["created_at", "event", "link", "case_no", "read"]
    show_columns = ["created_at", "event", "title", "text", "case_no", "read_at"]
    search_columns = ["event", "created_at"]
    order_columns = ["created_at"]
    base_order = ("created_at", "desc")
    page_size = 25
    label_columns = NOTIFICATION_LABELS
    formatters_columns = {
        "created_at": business_datetime,
        "read_at": business_datetime,
        "event": label_of(messages.EVENT_LABELS),
        "read": read_label,
    }
    list_template = "notification_list.html"
    show_template = "notification_show.html"

    def _own(self, pk):
        """The user's own notification, or 404 (another user's row does not exist here)."""
        user = signed_in_user()
        notification = db.session.execute(
            select(Notification).where(Notification.id == pk, inbox_clause(user.id))
        ).scalar_one_or_none() if user is not None else None
        if notification is None:
            abort(404)
        return notification

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(unread_only=bool(request.args.get("unread")), csrf_form=FlaskForm())
        return super().render_template(template, **kwargs)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)  # 404 outside the user's inbox
        notification = self._own(int(pk))
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            notification=notification, notification_title=messages.title(notification),
            notification_text=messages.text(notification),
        )

    @expose("/open/<int:pk>", methods=["GET"])
    @has_access
    def open(self, pk):
        """Follow a notification's link: it is read from then on."""
        notification = self._own(pk)
        if notification.read_at is None:
            mark_read(db.session, notification.user_id, [pk])
            db.session.commit()
        return redirect(target_url(notification))

    @expose("/unread", methods=["GET"])
    @has_access
    def unread(self):
        """The menu's poll: ``{"unread": n}``."""
        response = jsonify(unread=unread_count(g.user.id))
        response.headers["Cache-Control"] = "no-store"
        return response

    @action("mark_read", _l("Mark as read"), icon="fa-check")
    def mark_read(self, items):
        rows = items if isinstance(items, list) else [items]
        ids = [row.id for row in rows if row is not None]
        if not ids:
            abort(404)
        for pk in ids:
            self._own(pk)  # the action's lookup ignores the inbox filter: refuse others' rows
        count = mark_read(db.session, g.user.id, ids)
        db.session.commit()
        flash(str(_l("%(n)s notification(s) marked as read.", n=count)), "success")
        if not isinstance(items, list):
            return redirect(url_for("NotificationView.show", pk=ids[0]))
        return redirect(url_for("NotificationView.list"))

    @expose("/mark_all_read", methods=["POST"])
    @has_access
    def mark_all_read(self):
        if not FlaskForm().validate_on_submit():
            flash(str(_l("The form expired; please try again.")), "danger")
        else:
            count = mark_read(db.session, g.user.id)
            db.session.commit()
            flash(str(_l("%(n)s notification(s) marked as read.", n=count)), "success")
        return redirect(url_for("NotificationView.list"))


class OutboxView(ScopedModelView):
    """Every notification on every channel, for administrators: what is pending, what
    failed and why, and a retry for the failed ones. Nothing is edited or deleted."""

    datamodel = NotificationInterface(Notification)
    base_permissions = ["can_list", "can_show", "can_retry"]
    method_permission_name = {"retry": "retry"}
    list_title = _l("Notification outbox")
    show_title = _l("Notification")
    list_columns = [
        "created_at", "event", "channel", "recipient", "case_no", "status", "attempts", "error", "sent_at",
    ]
    show_columns = [
        "created_at", "event", "channel", "recipient", "user", "department", "address", "case", "task", "title",
        "text", "status", "attempts", "next_attempt_at", "last_error", "sent_at", "read_at", "key",
    ]
    search_columns = ["status", "channel", "event", "created_at", "user", "department", "address"]
    # Newest first by the primary key (created_at has no index; the ids follow it).
    order_columns = ["status", "created_at"]
    base_order = ("id", "desc")
    label_columns = NOTIFICATION_LABELS
    formatters_columns = {
        "created_at": business_datetime,
        "sent_at": business_datetime,
        "read_at": business_datetime,
        "next_attempt_at": business_datetime,
        "event": label_of(messages.EVENT_LABELS),
        "channel": label_of(CHANNEL_LABELS),
        "status": label_of(DELIVERY_LABELS),
    }
    list_template = "notification_outbox.html"

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(delivery_labels=DELIVERY_LABELS)
        return super().render_template(template, **kwargs)

    @action("retry", _l("Retry"), _l("Queue the selected failed notifications again?"), "fa-repeat")
    def retry(self, items):
        rows = [row for row in (items if isinstance(items, list) else [items]) if row is not None]
        retried = retry_failed(db.session, [row.id for row in rows])
        db.session.commit()
        if retried:
            if outbox.dispatch(retried):
                flash(str(_l("%(n)s notification(s) queued again.", n=len(retried))), "success")
            else:
                flash(str(_l("%(n)s notification(s) set to pending; the broker could not be reached, so the "
                             "sweep will send them.", n=len(retried))), "warning")
        if len(rows) > len(retried):
            flash(str(_l("%(n)s notification(s) had not failed and were left as they are.",
                         n=len(rows) - len(retried))), "info")
        if not isinstance(items, list) and rows:
            return redirect(url_for("OutboxView.show", pk=rows[0].id))
        return redirect(url_for("OutboxView.list"))


class SmsMessageView(ScopedModelView):
    """The SMS the default gateway recorded (no SMS provider configured): read-only."""

    datamodel = SQLAInterface(SmsMessage)
    base_permissions = ["can_list", "can_show"]
    list_title = _l("Recorded SMS")
    show_title = _l("SMS")
    list_columns = ["created_at", "phone", "template", "text"]
    show_columns = ["created_at", "phone", "template", "text", "key"]
    search_columns = ["phone", "created_at"]
    order_columns = ["created_at"]
    base_order = ("id", "desc")
    label_columns = {
        "created_at": _l("Time"),
        "phone": _l("Mobile"),
        "template": _l("Template"),
        "text": _l("Message"),
        "key": _l("Idempotency key"),
    }
    formatters_columns = {"created_at": business_datetime}
