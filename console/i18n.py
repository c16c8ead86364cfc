"""Chinese and English: Babel reads the .po catalogs and compiles them in memory at import."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from services.console.sessions import DEFAULT_LANGUAGE, LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"


def _compile(lang: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():  # English is the source language: the msgids themselves
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


CATALOGS: dict[str, gettext.NullTranslations] = {lang: _compile(lang) for lang in LANGUAGES}


def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for `lang`, Chinese for anything unknown."""
    return CATALOGS.get(lang, CATALOGS[DEFAULT_LANGUAGE])


def other_language(lang: str) -> str:
    """The language the switch offers."""
    return "en" if lang == "zh" else "zh"
