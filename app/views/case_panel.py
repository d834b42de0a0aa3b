"""What the case screen shows beside the case's fields: its tasks, the single material
checklist and the actions the user may take. Everything is read through the row
filter, so a department sees only its own tasks and the materials they need."""

from flask import current_app
from flask_babel import gettext
from flask_wtf import FlaskForm

from app.domain import chain, rules
from app.domain.labels import FORM_LABELS, STATUS_LABELS
from app.extensions import db
from app.models import CaseMaterial, Item, Material, Task
from app.models.case import CASE_COMPLETED
from app.security.scope import AccessDenied, check_writable, scope_query


def _writable(row):
    try:
        check_writable(row)
    except AccessDenied:
        return False
    return True


def _may(permission):
    return current_app.appbuilder.sm.has_access(permission, "CaseDocumentsView")


def case_panel(case):
    tasks = scope_query(Task, db.session.query(Task)).filter(Task.case_id == case.id).order_by(Task.id).all()
    facts = chain.fact_codes(case)
    present = chain.present_pairs(case)
    checklist = rules.material_checklist([t.item for t in tasks], facts)
    materials = {m.code: m for m in db.session.query(Material).filter(Material.code.in_(list(checklist)))}
    files = (
        scope_query(CaseMaterial, db.session.query(CaseMaterial))
        .filter(CaseMaterial.case_id == case.id).order_by(CaseMaterial.id).all()
    )
    names = {code: material.name for code, material in materials.items()}
    # Issued by the system (the 火化证明 of cremation): never offered for upload.
    produced = {material_id for (material_id,) in db.session.query(Item.produces_material_id)}
    rows = []
    for code, entry in checklist.items():
        rows.append({
            "code": code,
            "name": materials[code].name,
            "forms": [{"label": FORM_LABELS[f], "present": (code, f) in present} for f in sorted(entry["forms"])],
            "items": rules.needed_by_text(entry, names, either=gettext("{item} (or {others})")),
            "files": [f for f in files if f.material.code == code and f.stored_name],
            "handed_in": materials[code].id not in produced,
        })
    allowed = {name: _may(f"can_{name}") for name in ("accept", "complete", "reject", "request_supplement", "cancel")}
    task_rows = []
    for task in tasks:
        missing = rules.missing_needs(task.item, facts, present)
        in_hand = task.status in chain.IN_HAND_STATES and _writable(task)
        task_rows.append({
            "task": task,
            "status": STATUS_LABELS.get(task.status, task.status),
            "missing": [" 或 ".join(materials[c].name if c in materials else c for c, _f in need.materials)
                        for need in missing],
            "supplement": [materials[c].name if c in materials else c for c in chain.supplement_codes(task)]
            if task.status == "supplement_requested" else [],
            "can_accept": task.status == "ready" and in_hand and allowed["accept"],
            "can_complete": in_hand and allowed["complete"],
            "is_payout": task.item.payout_days is not None,
            "can_reject": in_hand and allowed["reject"],
            "can_request_supplement": in_hand and allowed["request_supplement"],
            "supplement_choices": [(c, materials[c].name if c in materials else c) for c in chain.supplement_choices(task)]
            if in_hand and allowed["request_supplement"] else [],
        })
    is_open = case.status in chain.OPEN_CASE_STATES
    return {
        "tasks": task_rows,
        "checklist": rows,
        "can_add_material": is_open and _writable(case),
        "can_cancel": is_open and allowed["cancel"] and _writable(case),
        "can_print_completion_notice": case.status == CASE_COMPLETED and _may("can_completion_notice"),
        "csrf_form": FlaskForm(),
    }
