"""The domain in plain Python: which items a case gets, which materials each needs,
deadlines on the working-day calendar. Views, the API, the CLI and Celery call it."""
