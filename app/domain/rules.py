"""Which items a case gets and which materials each item needs, from the rules and
requirements that administrators maintain as data (SPEC "Which items a case gets")."""

from dataclasses import dataclass

IN_SCOPE_CIRCUMSTANCES = ("in_hospital", "outside_hospital", "en_route", "unnatural")


def rule_matches(fact_code, facts):
    """The rule: one without a fact (``None``) always matches, one with a fact matches
    when the case has that fact."""
    return fact_code is None or fact_code in facts


def items_for(items, fact_codes):
    """The items a deceased with these facts gets. An item applies when any of its
    rules matches (``rule_matches``). Items keep their catalogue order."""
    facts = set(fact_codes)
    chosen = [
        item for item in items
        if any(rule_matches(rule.fact.code if rule.fact is not None else None, facts) for rule in item.rules)
    ]
    return sorted(chosen, key=lambda item: (item.sort_order, item.code))


def item_ids_for(rule_rows, fact_codes):
    """The same choice from the rules alone, as (item id, fact code or None) rows: the
    ids of the items that apply (registration reads these rows instead of every item
    with its rules)."""
    facts = set(fact_codes)
    return {item_id for item_id, fact_code in rule_rows if rule_matches(fact_code, facts)}


@dataclass(frozen=True)
class Need:
    """One requirement group of an item: any one of ``materials`` satisfies it."""

    item_code: str
    group_no: int
    materials: tuple  # of (material_code, form)

    def satisfied_by(self, present):
        """``present``: the (material code, form) pairs the case has: ``original`` once
        the window checked the original, ``scan`` once a scan is stored."""
        return any(pair in present for pair in self.materials)


def needs_for(item, fact_codes):
    """The requirement groups of one item for a case with these facts; a requirement
    with a condition fact applies only when the case has it."""
    facts = set(fact_codes)
    groups = {}
    for req in item.requirements:
        if req.condition_fact is not None and req.condition_fact.code not in facts:
            continue
        groups.setdefault(req.group_no, []).append((req.material.code, req.form))
    return [Need(item.code, g, tuple(mats)) for g, mats in sorted(groups.items())]


def material_checklist(items, fact_codes):
    """The single checklist of a case: each material once, with the forms asked for
    (原件 checked at the window and/or 扫描件 shared), the items that need it and, for
    an item that takes it or another ("死亡证明 或 火化证明"), those others
    (``alternatives``: item code → the other material codes of that group)."""
    checklist = {}
    for item in items:
        for need in needs_for(item, fact_codes):
            codes = list(dict.fromkeys(code for code, _form in need.materials))
            for code, form in need.materials:
                entry = checklist.setdefault(code, {"forms": set(), "items": [], "alternatives": {}})
                entry["forms"].add(form)
                if item.code not in entry["items"]:
                    entry["items"].append(item.code)
                others = [other for other in codes if other != code]
                if others:
                    known = entry["alternatives"].setdefault(item.code, [])
                    known.extend(other for other in others if other not in known)
    return checklist


def needed_by(entry):
    """The items of a checklist entry as (item code, the materials it takes instead):
    ``[("MZ01", []), ("CL01", ["CREMATION_CERT"])]``."""
    return [(code, entry["alternatives"].get(code, [])) for code in entry["items"]]


def needed_by_text(entry, names, either="{item}（或{others}）", separator="、"):
    """The items of a checklist entry as the printed form says them: ``MZ01``, and
    ``CL01（或火化证明）`` for an item that takes another material instead."""
    return [
        either.format(item=code, others=separator.join(names.get(other, other) for other in others))
        if others else code
        for code, others in needed_by(entry)
    ]


def is_ready(item, fact_codes, present):
    """A task is ready once every requirement group of its item is satisfied."""
    return all(need.satisfied_by(present) for need in needs_for(item, fact_codes))


def missing_needs(item, fact_codes, present):
    """The requirement groups of an item that the case does not satisfy yet."""
    return [need for need in needs_for(item, fact_codes) if not need.satisfied_by(present)]
