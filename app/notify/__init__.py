"""The notifier: events write outbox rows in the transaction of the change that causes
them (``outbox``); a Celery worker delivers each one on its channel (``delivery``,
``channels``); beat sweeps what is still pending and scans deadlines (``schedule``)."""
