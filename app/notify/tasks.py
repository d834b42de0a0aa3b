"""The Celery tasks of the notifier (names are fixed: beat and ``send_task`` use them)."""

from celery import shared_task

from app.notify import delivery, schedule


@shared_task(name="app.notify.tasks.deliver")
def deliver(ids):
    return {str(i): delivery.deliver_one(i) for i in ids}


@shared_task(name="app.notify.tasks.sweep")
def sweep():
    return delivery.sweep()


@shared_task(name="app.notify.tasks.scan_deadlines")
def scan_deadlines():
    return schedule.scan_deadlines()


@shared_task(name="app.notify.tasks.daily_digest")
def daily_digest():
    return schedule.daily_digest()
