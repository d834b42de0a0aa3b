"""``python run.py``: bring the database up to date, load the notice (and the demo
accounts in demo mode), then serve the back office on http://127.0.0.1:5000."""

import os

from flask_migrate import upgrade

from app import create_app
from app.seeding import seed_all


def main():
    app = create_app()
    with app.app_context():
        upgrade()
        seed_all(demo=app.config["DEMO_MODE"])
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    app.run(host=host, port=port, debug=False, threaded=True)


if __name__ == "__main__":
    main()
