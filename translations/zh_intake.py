"""Chinese for the window's intake, the registry's issuers, materials handed in and the
case edit (app/domain/intake.py, registry.py, chain.hand_in_material, app/storage.py,
app/views/intake.py, case_show.html, the department's issuer setting)."""

ZH = {
    "%(department)s does not issue death certificates: medical death certificates (死亡医学证明) come from "
    "卫健's medical institutions, unnatural-death certificates (非正常死亡证明) from the police (公安).":
        "%(department)s不是死亡证明开具单位：死亡医学证明由卫健部门的医疗卫生机构开具，非正常死亡证明由公安机关开具。",
    "%(material)s is issued by the system when %(item)s is completed; it cannot be handed in.":
        "%(material)s由系统在“%(item)s”办结时出具，不能由窗口上传或登记。",
    "At most %(n)d characters.": "最多 %(n)d 个字。",
    "Death proof %(no)s is not in the registry: check the number with the family.":
        "登记库中没有编号为 %(no)s 的死亡证明：请与家属核对编号。",
    "Differs from the registered death proof (confirmed by the clerk)": "与死亡证明登记不一致（经办人已确认）",
    "Issues death proofs": "开具死亡证明",
    "No death proof numbered %(no)s is registered in %(region)s, nor one for this ID number.":
        "%(region)s死亡证明登记中没有编号为 %(no)s 的死亡证明，也没有该身份证号码的死亡证明。",
    "No death proof numbered %(no)s is registered in this county; check the number, or confirm that the "
    "family's proof is not in the registry.":
        "本县死亡证明登记中没有编号为 %(no)s 的死亡证明：请核对编号，或确认家属所持死亡证明未登记后再登记。",
    "No item of case %(no)s needs %(material)s; only the materials of its checklist are taken.":
        "案件 %(no)s 的联办事项不需要%(material)s，只收取材料清单中的材料。",
    "None": "无",
    "The death proof registered for this ID number is %(no)s.": "该身份证号码登记的死亡证明编号为 %(no)s。",
    "{item} (or {others})": "{item}（或{others}）",
}
