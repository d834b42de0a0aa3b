"""What the case screen shows beside the case's fields: its tasks, the single material
checklist and the actions the user may take; and what a task's page (and the task API)
shows of what its item needs. Everything is read through the row filter, so a
department sees only its own tasks and the materials they need."""

from flask import current_app
from flask_babel import gettext
from flask_wtf import FlaskForm

from app.domain import chain, rules
from app.domain.labels import FORM_LABELS, STATUS_LABELS
from app.extensions import db
from app.models import CaseMaterial, Item, Material, Task
from app.models.case import CASE_COMPLETED
from app.models.catalogue import SCAN
from app.security.scope import AccessDenied, check_writable, scope_query


def _writable(row):
    try:
        check_writable(row)
    except AccessDenied:
        return False
    return True


def _may(permission):
    return current_app.appbuilder.sm.has_access(permission, "CaseDocumentsView")


def task_needs(task):
    """What one item needs of its case: the facts that gave the case this item (and
    whether every case has it), and each requirement group of the item (its
    alternatives, each with whether it is present and the files of it the user may
    download). Materials no requirement of this item names are not here."""
    case = task.case
    facts = chain.fact_codes(case)
    present = chain.present_pairs(case)
    needs = rules.needs_for(task.item, facts)
    codes = list(dict.fromkeys(code for need in needs for code, _form in need.materials))
    materials = {m.code: m for m in db.session.query(Material).filter(Material.code.in_(codes))} if codes else {}
    files = (
        scope_query(CaseMaterial, db.session.query(CaseMaterial))
        .filter(CaseMaterial.case_id == case.id, CaseMaterial.material_id.in_([m.id for m in materials.values()]))
        .filter(CaseMaterial.stored_name.isnot(None))
        .order_by(CaseMaterial.id).all()
    ) if materials else []
    groups = []
    for need in needs:
        groups.append({
            "group_no": need.group_no,
            "satisfied": need.satisfied_by(present),
            "materials": [
                {
                    "code": code,
                    "name": materials[code].name if code in materials else code,
                    "form": form,
                    "form_label": FORM_LABELS.get(form, form),
                    "present": (code, form) in present,
                    # A file is the scan: an item that asks only for the original
                    # (checked at the window) gets no file.
                    "files": [f for f in files if f.material_id == materials[code].id]
                    if code in materials and form == SCAN else [],
                }
                for code, form in need.materials
            ],
        })
    return {
        "facts": [rule.fact for rule in task.item.rules if rule.fact is not None and rule.fact.code in facts],
        "always": any(rule.fact is None for rule in task.item.rules),
        "groups": groups,
    }


def case_panel(case):
    tasks = scope_query(Task, db.session.query(Task)).filter(Task.case_id == case.id).order_by(Task.id).all()
    facts = chain.fact_codes(case)
    present = chain.present_pairs(case)
    checklist = rules.material_checklist([t.item for t in tasks], facts)
    materials = {m.code: m for m in db.session.query(Material).filter(Material.code.in_(list(checklist)))}
    # The files the user may download: the row filter's, and none without the permission.
    files = (
        scope_query(CaseMaterial, db.session.query(CaseMaterial))
        .filter(CaseMaterial.case_id == case.id).order_by(CaseMaterial.id).all()
    ) if _may("can_download") else []
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
