"""Two windows saving at the same moment: distinct case numbers, one open case per
deceased. Meaningful on PostgreSQL (CI runs it there); SQLite serialises writers."""

import threading

from app.domain import intake
from app.extensions import db
from app.models import Case, DepartmentUser
from tests.factories import id_number
from tests.test_intake import payload

THREADS = 6
PER_THREAD = 5


def _register_many(app, results, errors, barrier, bodies):
    with app.app_context():
        user = db.session.query(DepartmentUser).filter_by(username="window").one()
        window = next(d for d in user.departments if d.accepts_cases)
        db.session.commit()  # end the reading transaction before the race starts
        barrier.wait()
        for body in bodies:
            application = intake.Application(deceased=body["deceased"], applicant=body["applicant"],
                                             facts=body["facts"], region_code=body["region_code"])
            try:
                case = intake.register(db.session, application, user, window)
                db.session.commit()
                results.append(case.case_no)
            except intake.IntakeRefused as exc:
                db.session.rollback()
                errors.append((exc.status, exc.existing.case_no if exc.existing is not None else None, exc.errors))
        db.session.remove()


def _run(app, bodies_per_thread):
    results, errors = [], []
    barrier = threading.Barrier(len(bodies_per_thread))
    threads = [
        threading.Thread(target=_register_many, args=(app, results, errors, barrier, bodies))
        for bodies in bodies_per_thread
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def test_concurrent_registrations_get_distinct_consecutive_numbers(app):
    bodies = [
        [payload(**{"deceased.id_number": id_number("361125", f"19{30 + t}0{1 + n}01"), "deceased.gender": None})
         for n in range(PER_THREAD)]
        for t in range(THREADS)
    ]
    results, errors = _run(app, bodies)
    assert not errors, errors
    assert len(results) == THREADS * PER_THREAD == len(set(results))
    numbers = sorted(int(no.rsplit("-", 1)[1]) for no in results)
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_the_same_deceased_registered_twice_at_once_gets_one_case(app):
    number = id_number("361125", "19290909")
    bodies = [[payload(**{"deceased.id_number": number, "deceased.gender": None})] for _ in range(THREADS)]
    results, errors = _run(app, bodies)
    assert len(results) == 1 and len(errors) == THREADS - 1
    assert all(status == 409 and existing == results[0] for status, existing, _errors in errors)
    with app.app_context():
        assert db.session.query(Case).filter_by(deceased_id_number=number).count() == 1
        db.session.remove()
