"""Material files: stored outside any served folder, under random names, with their
SHA-256; the type is read from the content, never from the file's name. A file belongs
to the database transaction that stored it: if that transaction rolls back (or ends
without committing), the file is removed, so no file outlives its row."""

import contextlib
import hashlib
import os
import secrets

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

# Leading bytes of the accepted types.
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


class UploadError(ValueError):
    """A file the window cannot store, with a message for the clerk."""


def sniff(content):
    """(content type, extension) of a PDF, JPEG or PNG, from its first bytes."""
    for signature, content_type, extension in SIGNATURES:
        if content.startswith(signature):
            return content_type, extension
    return None


def max_bytes():
    return current_app.config["MATERIAL_MAX_BYTES"]


def too_large_message(size):
    return _l("The file is %(size).1f MB; the limit is %(limit)d MB.",
              size=size / 1048576, limit=max_bytes() // 1048576)


def check(content):
    """Refuse an empty, too large or unsupported file; return its (type, extension)."""
    if not content:
        raise UploadError(_l("The file is empty."))
    if len(content) > max_bytes():
        raise UploadError(too_large_message(len(content)))
    kind = sniff(content)
    if kind is None:
        raise UploadError(_l("Only PDF, JPEG and PNG files are accepted (judged from the file's content)."))
    return kind


def store(content, session):
    """Write a checked file for ``session``'s transaction; return (stored name,
    content type, size, sha256). The file is removed if that transaction does not
    commit."""
    content_type, extension = check(content)
    directory = current_app.config["MATERIALS_DIR"]
    os.makedirs(directory, exist_ok=True)
    stored_name = secrets.token_hex(16) + extension
    path = os.path.join(directory, stored_name)
    with open(path, "xb") as f:
        f.write(content)
    if isinstance(session, scoped_session):
        session = session()  # the request's own session, whose transaction the file joins
    _written(session).append((path, session.get_nested_transaction() or session.get_transaction()))
    return stored_name, content_type, len(content), hashlib.sha256(content).hexdigest()


def path_of(stored_name):
    """The file of a stored name; names are ours, but never let one leave the folder."""
    if not stored_name or os.path.basename(stored_name) != stored_name:
        raise UploadError(_l("No such file."))
    return os.path.join(current_app.config["MATERIALS_DIR"], stored_name)


def remove(stored_name):
    """Delete a stored file (one whose row is gone)."""
    with contextlib.suppress(OSError, UploadError):
        os.remove(path_of(stored_name))


# --- Files of a transaction -----------------------------------------------------------------
# ``session.info["stored_files"]``: (path, the transaction that was innermost when the
# file was written). A commit of the whole transaction keeps them; a savepoint rolled
# back removes those written inside it; the end of the whole transaction without a
# commit (a rollback, or a session closed with the transaction open) removes the rest.


def _written(session):
    return session.info.setdefault("stored_files", [])


def _within(transaction, ancestor):
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _discard(session, keep):
    files = session.info.get("stored_files")
    if not files:
        return
    session.info["stored_files"] = [entry for entry in files if keep(entry)]
    for path, transaction in files:
        if not keep((path, transaction)):
            with contextlib.suppress(OSError):
                os.remove(path)


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session):
    session.info.pop("stored_files", None)


@event.listens_for(Session, "after_soft_rollback")
def _remove_files_of_rolled_back_savepoint(session, previous_transaction):
    if previous_transaction.nested:
        _discard(session, lambda entry: not _within(entry[1], previous_transaction))


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session, transaction):
    if transaction.parent is None:  # the whole transaction ended; a commit kept its files already
        _discard(session, lambda entry: False)


# --- A request larger than the server takes -----------------------------------------------


def request_too_large(error):
    """A body above ``MAX_CONTENT_LENGTH`` never reaches the size check of ``check``:
    answer with the same message, as JSON on the API and as a flash on the screen."""
    message = str(too_large_message(request.content_length or 0))
    if request.path.startswith("/api/"):
        response = jsonify(message=message, errors={"file": [message]})
        response.status_code = 413
        return response
    flash(message, "danger")
    pk = (request.view_args or {}).get("pk")
    if request.endpoint == "CaseDocumentsView.add_material" and pk is not None:
        return redirect(url_for("CaseView.show", pk=pk))
    back = request.referrer or ""
    return redirect(back if back.startswith(request.host_url) else url_for("CaseView.list"))


def install(app):
    app.register_error_handler(413, request_too_large)
