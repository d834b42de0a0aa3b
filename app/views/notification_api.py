"""``GET /api/v1/notification/``: the caller's notifications, newest first (SPEC.md's
integration API), and ``POST /api/v1/notification/<id>/read``. JWT only; a caller sees
their own in-app notifications and nothing else (another's id answers 404)."""

from flask import g, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext
from sqlalchemy import func, select

from app.extensions import db
from app.models.notify import Notification
from app.notify import messages
from app.views.notifications import inbox_clause, mark_read, unread_count

MAX_PAGE_SIZE = 100


def _iso(value):
    return value.isoformat() + "Z" if value is not None else None


def notification_json(notification):
    params = messages.params_of(notification)
    return {
        "id": notification.id,
        "event": notification.event,
        "title": messages.title(notification),
        "text": messages.text(notification),
        "case_id": notification.case_id,
        "case_no": params.get("case_no"),
        "task_id": notification.task_id,
        "item_code": params.get("item_code"),
        "created_at": _iso(notification.created_at),
        "read_at": _iso(notification.read_at),
    }


def _int_arg(name, default, low, high):
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


class NotificationApi(BaseApi):
    resource_name = "notification"
    allow_browser_login = False

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The caller's notifications, newest first: ``count``, ``unread``, ``ids`` and
        ``result``; ``page`` (from 0) and ``page_size`` (at most 100, 25 by default);
        ``unread=1`` for the unread ones only.
        ---
        get:
          responses:
            200:
              description: The caller's notifications
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        page = _int_arg("page", 0, 0, 10**6)
        page_size = _int_arg("page_size", 25, 1, MAX_PAGE_SIZE)
        if page is None or page_size is None:
            return self.response_400(message=gettext("page must be 0 or more and page_size 1 to 100."))
        where = [inbox_clause(g.user.id)]
        if request.args.get("unread") in ("1", "true"):
            where.append(Notification.read_at.is_(None))
        count = db.session.execute(select(func.count()).select_from(Notification).where(*where)).scalar_one()
        rows = db.session.execute(
            select(Notification).where(*where).order_by(Notification.id.desc())
            .offset(page * page_size).limit(page_size)
        ).scalars().all()
        return self.response(200, count=count, unread=unread_count(g.user.id), ids=[n.id for n in rows],
                             result=[notification_json(n) for n in rows])

    @expose("/<int:pk>/read", methods=["POST"])
    @protect()
    @safe
    def read(self, pk):
        """Mark one of the caller's notifications read.
        ---
        post:
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          responses:
            200:
              description: The notification is read; the unread count
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        exists = db.session.execute(
            select(Notification.id).where(inbox_clause(g.user.id), Notification.id == pk)
        ).first()
        if exists is None:
            return self.response_404()
        mark_read(db.session, g.user.id, [pk])
        db.session.commit()
        return self.response(200, id=pk, unread=unread_count(g.user.id))
