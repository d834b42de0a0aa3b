"""Rebuild the catalogues from the code: extract our messages, update the ``zh`` and
``en`` catalogues, fill ``zh`` from ``zh_source.ZH`` (English is the source language,
so ``en`` repeats it), and compile both. Run: ``.venv/bin/python translations/build.py``.
Fails listing any message that has no Chinese translation yet."""

import os
import subprocess
import sys

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from zh_source import FAB_GAPS  # noqa: E402


def chinese_sources():
    """``ZH`` merged from ``zh_source.py`` and every other ``zh_*.py`` here (one file
    per part of the product, so that parts are translated side by side)."""
    import importlib

    merged = {}
    for name in sorted(os.listdir(HERE)):
        if name.startswith("zh_") and name.endswith(".py"):
            module = importlib.import_module(name[:-3])
            clash = {key for key in module.ZH if key in merged and merged[key] != module.ZH[key]}
            if clash:
                raise SystemExit(f"{name} translates differently: {sorted(clash)}")
            merged.update(module.ZH)
    return merged


ZH = chinese_sources()


def main():
    pot = os.path.join(HERE, "messages.pot")
    pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run(  # noqa: S603
        [pybabel, "extract", "-F", os.path.join(ROOT, "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
         "--no-location", "--sort-output", "--omit-header", "-o", pot, ROOT],
        check=True, cwd=ROOT, capture_output=True,
    )
    with open(pot, "rb") as f:
        template = read_po(f)
    for message_id in FAB_GAPS:
        template.add(message_id)
    with open(pot, "wb") as f:
        write_po(f, template, sort_output=True, omit_header=True, width=100)
    missing = []
    for locale in ("zh", "en"):
        directory = os.path.join(HERE, locale, "LC_MESSAGES")
        os.makedirs(directory, exist_ok=True)
        with open(pot, "rb") as f:
            catalog = read_po(f, locale=locale)
        catalog.fuzzy = False
        for message in catalog:
            if not message.id:
                continue
            if locale == "en":
                message.string = message.id
            elif message.id in ZH or message.id in FAB_GAPS:
                message.string = ZH.get(message.id) or FAB_GAPS[message.id]
            else:
                missing.append(message.id)
            message.flags.discard("fuzzy")
        with open(os.path.join(directory, "messages.po"), "wb") as f:
            write_po(f, catalog, sort_output=True, omit_header=False, width=100)
        with open(os.path.join(directory, "messages.mo"), "wb") as f:
            write_mo(f, catalog)
    unused = sorted(set(ZH) - {m.id for m in template if m.id})
    if unused:
        print("Translations no longer used:", *unused, sep="\n  ")
    if missing:
        print("Messages without a Chinese translation:", *sorted(set(missing)), sep="\n  ")
        return 1
    print(f"{len(template) - 1} messages, zh and en compiled.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
