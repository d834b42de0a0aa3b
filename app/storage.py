"""Material files: stored outside any served folder, under random names, with their
SHA-256; the type is read from the content, never from the file's name."""

import contextlib
import hashlib
import os
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l

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


def check(content):
    """Refuse an empty, too large or unsupported file; return its (type, extension)."""
    if not content:
        raise UploadError(_l("The file is empty."))
    if len(content) > max_bytes():
        raise UploadError(
            _l("The file is %(size).1f MB; the limit is %(limit)d MB.",
               size=len(content) / 1048576, limit=max_bytes() // 1048576)
        )
    kind = sniff(content)
    if kind is None:
        raise UploadError(_l("Only PDF, JPEG and PNG files are accepted (judged from the file's content)."))
    return kind


def store(content):
    """Write a checked file; return (stored name, content type, size, sha256)."""
    content_type, extension = check(content)
    directory = current_app.config["MATERIALS_DIR"]
    os.makedirs(directory, exist_ok=True)
    stored_name = secrets.token_hex(16) + extension
    path = os.path.join(directory, stored_name)
    with open(path, "xb") as f:
        f.write(content)
    return stored_name, content_type, len(content), hashlib.sha256(content).hexdigest()


def path_of(stored_name):
    """The file of a stored name; names are ours, but never let one leave the folder."""
    if not stored_name or os.path.basename(stored_name) != stored_name:
        raise UploadError(_l("No such file."))
    return os.path.join(current_app.config["MATERIALS_DIR"], stored_name)


def remove(stored_name):
    """Undo a store whose transaction failed, so no orphan file stays behind."""
    with contextlib.suppress(OSError, UploadError):
        os.remove(path_of(stored_name))
