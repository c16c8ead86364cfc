"""XLSX rows straight from the package (zipfile + expat), streamed; values as openpyxl gives.

openpyxl's read-only mode spends ~350 µs of Python per 15-cell row building cell objects; an
import needs only the active sheet's values, which expat delivers for a fifth of that. Large
imports read in a child process (api.customers.import_child).
"""

from __future__ import annotations

import itertools
import posixpath
import re
import zipfile
from collections.abc import Generator, Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from xml.parsers import expat

from core.errors import Invalid

# Hostile files: bounded decompression (zip bombs), rows, columns and shared strings.
MAX_XML_BYTES = 512 * 1024 * 1024
MAX_ROWS = 1_048_576  # Excel's own limit
MAX_COLUMNS = 256
MAX_SHARED_STRINGS = 2_000_000
_CHUNK = 256 * 1024
# Large files are parsed in a child process, on the other core, while this one validates and
# writes; below this size the child costs more than it saves.
_DIGITS = "0123456789"

Cells = tuple[Any, ...]
NumberedRow = tuple[int, Cells]

_WINDOWS_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - spreadsheet serials are naive
_MAC_EPOCH = datetime(1904, 1, 1)  # noqa: DTZ001
# Built-in date/time formats; 27-36 and 50-58 are the CJK locales' (e.g. yyyy"年"m"月"d"日").
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
_TIMEDELTA_FORMAT_IDS = frozenset([46])
# openpyxl's rule: a d/m/h/y/s token outside quotes and [locale] brackets, first section only.
_FORMAT_NOISE = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_TOKEN = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_TIMEDELTA = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)


def _unreadable(reason: str) -> Invalid:
    return Invalid("file", f"not a readable XLSX workbook ({reason})")


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _no_doctype(*_: object) -> None:
    raise _unreadable("DOCTYPE and entity declarations are not allowed")


def _parser(namespaces: bool = True) -> Any:
    """An expat parser refusing DTDs; with `namespaces`, tags are "URI local-name"."""
    parser = expat.ParserCreate(namespace_separator=" ") if namespaces else expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_doctype
    parser.buffer_text = True
    parser.buffer_size = _CHUNK
    return parser


class _Package:
    """Parts of the zip, read with a shared budget of uncompressed bytes."""

    def __init__(self, stream: IO[bytes]) -> None:
        try:
            self.zip = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _unreadable(type(exc).__name__) from exc
        self.names = set(self.zip.namelist())
        self.budget = MAX_XML_BYTES

    def chunks(self, name: str) -> Iterator[bytes]:
        """Part `name` in chunks; zipfile itself stops at the declared uncompressed size."""
        info = self.zip.getinfo(name)
        too_big = Invalid("file", f"the workbook expands beyond {MAX_XML_BYTES >> 20} MB")
        if info.file_size > self.budget:
            raise too_big
        with self.zip.open(info) as part:
            while chunk := part.read(_CHUNK):
                self.budget -= len(chunk)
                if self.budget < 0:
                    raise too_big
                yield chunk

    def elements(self, name: str) -> list[tuple[str, str, dict[str, str]]]:
        """(parent, element, attributes) by local names, for the small parts."""
        found: list[tuple[str, str, dict[str, str]]] = []
        stack = [""]
        parser = _parser()

        def start(tag: str, attrs: dict[str, str]) -> None:
            local = _local(tag)
            found.append((stack[-1], local, {_local(k): v for k, v in attrs.items()}))
            stack.append(local)

        parser.StartElementHandler = start
        parser.EndElementHandler = lambda _tag: stack.pop()
        for chunk in self.chunks(name):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
        return found

    def relations(self, source: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type suffix, part name) for the part `source`."""
        folder, base = posixpath.split(source)
        rels = posixpath.join(folder, "_rels", base + ".rels")
        if rels not in self.names:
            return {}
        found = {}
        for _, tag, attrs in self.elements(rels):
            if tag == "Relationship" and "Target" in attrs:
                target = attrs["Target"]
                path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
                kind = attrs.get("Type", "").rpartition("/")[2]
                found[attrs.get("Id", "")] = (kind, posixpath.normpath(path))
        return found


def _workbook(package: _Package) -> tuple[str, str | None, str | None, datetime]:
    """(active worksheet, shared strings part, styles part, epoch)."""
    roots = package.relations("")
    workbook = next((p for k, p in roots.values() if k == "officeDocument"), "xl/workbook.xml")
    rels = package.relations(workbook)
    sheets: list[str] = []
    active: int | None = None
    epoch = _WINDOWS_EPOCH
    for _parent, tag, attrs in package.elements(workbook):
        if tag == "workbookPr" and attrs.get("date1904", "0").lower() in ("1", "true"):
            epoch = _MAC_EPOCH
        elif tag == "workbookView" and active is None:  # the first view, as openpyxl
            active = int(attrs.get("activeTab", "0"))
        elif tag == "sheet" and attrs.get("id") in rels:
            kind, path = rels[attrs["id"]]
            sheets.append(path if kind == "worksheet" else "")
    worksheets = [s for s in sheets if s in package.names]
    if not worksheets:
        raise _unreadable("no worksheet")
    active = active or 0
    sheet = sheets[active] if 0 <= active < len(sheets) and sheets[active] else worksheets[0]
    parts = {kind: path for kind, path in rels.values() if path in package.names}
    return sheet, parts.get("sharedStrings"), parts.get("styles"), epoch


def _date_styles(package: _Package, styles: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """Style indexes (as written in `s=`) whose number format is a date, and a duration."""
    if styles is None:
        return frozenset(), frozenset()
    custom: dict[str, str] = {}
    xfs: list[str] = []
    for parent, tag, attrs in package.elements(styles):
        if tag == "numFmt" and parent == "numFmts":  # not the differential formats' ones
            custom[attrs.get("numFmtId", "")] = attrs.get("formatCode", "")
        elif tag == "xf" and parent == "cellXfs":
            xfs.append(attrs.get("numFmtId", "0"))
    dates, durations = set(), set()
    for index, fmt_id in enumerate(xfs):
        if fmt_id in custom:
            code = custom[fmt_id].split(";")[0]
            is_date = _DATE_TOKEN.search(_FORMAT_NOISE.sub("", code)) is not None
            is_duration = _TIMEDELTA.search(code) is not None
        else:
            is_date = fmt_id.isdigit() and int(fmt_id) in _DATE_FORMAT_IDS
            is_duration = fmt_id.isdigit() and int(fmt_id) in _TIMEDELTA_FORMAT_IDS
        if is_date:
            dates.add(str(index))
        if is_duration:
            durations.add(str(index))
    return frozenset(dates), frozenset(durations)


def _tags(first: bytes, root: str, *names: str) -> dict[str, str]:
    """Tag → local name with the root element's prefix, for a part parsed without namespaces."""
    # Namespace processing costs a fifth of the parse; the prefix is all it would tell us.
    match = re.search(rb"<([\w.-]+:)?" + root.encode() + rb"[\s>/]", first)
    prefix = match[1].decode() if match and match[1] else ""
    return {prefix + name: name for name in names}


def _parse(parser: Any, chunks: Iterator[bytes]) -> Iterator[None]:
    """Feed `chunks` to `parser`, pausing after each so callers can hand out results."""
    for chunk in chunks:
        parser.Parse(chunk, False)
        yield None
    parser.Parse(b"", True)
    yield None


def _shared_strings(package: _Package, part: str | None) -> list[str]:
    """The shared string table: each item's plain and rich-text runs, not phonetic ones."""
    strings: list[str] = []
    if part is None:
        return strings
    parts: list[str] = []
    phonetic = 0
    parser = _parser(namespaces=False)
    chunks = package.chunks(part)
    first = next(chunks, b"")
    tags = _tags(first, "sst", "si", "t", "rPh")

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal phonetic
        local = tags.get(tag)
        if local == "t":
            if not phonetic:
                parser.CharacterDataHandler = parts.append
        elif local == "si":
            parts.clear()
        elif local == "rPh":
            phonetic += 1

    def end(tag: str) -> None:
        nonlocal phonetic
        local = tags.get(tag)
        if local == "t":
            parser.CharacterDataHandler = None
        elif local == "si":
            if len(strings) >= MAX_SHARED_STRINGS:
                raise Invalid("file", f"the workbook has more than {MAX_SHARED_STRINGS} strings")
            strings.append("".join(parts).replace("x005F_", ""))  # as openpyxl unescapes
        elif local == "rPh":
            phonetic -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    for _ in _parse(parser, itertools.chain([first], chunks)):
        pass
    return strings


def _from_serial(value: float, epoch: datetime, duration: bool) -> Any:
    """A date-formatted number as openpyxl converts it (datetime, time or timedelta)."""
    try:
        if duration:
            span = timedelta(days=value)
            if span.microseconds:
                micro = round(span.microseconds, -3)
                span = timedelta(seconds=span.total_seconds() // 1, microseconds=micro)
            return span
        day, fraction = divmod(value, 1)
        diff = timedelta(milliseconds=round(fraction * 86_400_000))
        if 0 <= value < 1 and diff.days == 0:
            minutes, seconds = divmod(diff.seconds, 60)
            return time(minutes // 60, minutes % 60, seconds, diff.microseconds)
        if 0 < value < 60 and epoch == _WINDOWS_EPOCH:
            day += 1  # Excel's phantom 1900-02-29
        return epoch + timedelta(days=day) + diff
    except (OverflowError, ValueError):
        return "#VALUE!"


def _from_iso(text: str) -> Any:
    """A `t="d"` cell: date, time or naive datetime."""
    text = text.removesuffix("Z")
    if "T" in text:
        return datetime.fromisoformat(text)
    return time.fromisoformat(text) if ":" in text else date.fromisoformat(text)


def _column(ref: str, cache: dict[str, int]) -> int:
    letters = ref.rstrip(_DIGITS)
    index = cache.get(letters)
    if index is None:
        if not letters.isalpha():
            raise ValueError(f"bad cell reference {ref!r}")
        index = 0
        for letter in letters.upper():
            index = index * 26 + ord(letter) - 64
        if index > MAX_COLUMNS:
            raise Invalid("file", f"cell {ref}: the sheet may use at most {MAX_COLUMNS} columns")
        cache[letters] = index
    return index


def _sheet(
    package: _Package,
    part: str,
    strings: list[str],
    epoch: datetime,
    dates: frozenset[str],
    durations: frozenset[str],
) -> Iterator[NumberedRow]:
    """Rows holding at least one value, with their spreadsheet row numbers."""
    out: list[NumberedRow] = []
    cells: list[Any] = []
    parts: list[str] = []
    number = column = 0
    kind: str = "n"
    style: str | None = None
    phonetic = 0
    columns: dict[str, int] = {}
    parser = _parser(namespaces=False)
    chunks = package.chunks(part)
    first = next(chunks, b"")
    tags = _tags(first, "worksheet", "row", "c", "v", "t", "rPh")

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal number, column, kind, style, phonetic
        local = tags.get(tag)
        if local == "c":
            ref = attrs.get("r")
            column = (
                (columns.get(ref.rstrip(_DIGITS)) or _column(ref, columns)) if ref else column + 1
            )
            kind, style = attrs.get("t", "n"), attrs.get("s")
            parts.clear()
        elif local == "v" or (local == "t" and not phonetic):
            parser.CharacterDataHandler = parts.append
        elif local == "row":
            ref = attrs.get("r")
            number = int(ref) if ref else number + 1
            if not 0 < number <= MAX_ROWS:
                raise Invalid("file", f"row {number}: the sheet may have at most {MAX_ROWS} rows")
            column = 0
        elif local == "rPh":
            phonetic += 1

    def end(tag: str) -> None:
        nonlocal phonetic
        local = tags.get(tag)
        if local == "c":
            if not parts:
                return
            text = "".join(parts)
            value: Any
            if kind == "n":
                if not text:
                    return
                value = float(text) if "." in text or "e" in text or "E" in text else int(text)
                if style in dates:
                    value = _from_serial(value, epoch, style in durations)
            elif kind == "s":
                if not text:
                    return
                value = strings[int(text)]
            elif kind == "inlineStr":
                value = text
            elif kind == "b":
                if not text:
                    return
                value = bool(int(text))
            elif kind == "d":
                value = _from_iso(text) if text else None
            else:  # "str" (a formula's text result), "e" (an error such as #N/A)
                value = text or None
            if column > len(cells):
                cells.extend([None] * (column - 1 - len(cells)))
                cells.append(value)
            else:
                cells[column - 1] = value
        elif local == "v" or local == "t":
            parser.CharacterDataHandler = None
        elif local == "row":
            if cells:
                out.append((number, tuple(cells)))
                cells.clear()
        elif local == "rPh":
            phonetic -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    for _ in _parse(parser, itertools.chain([first], chunks)):
        yield from out
        out.clear()


def _read(stream: IO[bytes]) -> Generator[NumberedRow, None, None]:
    package = _Package(stream)
    try:
        sheet, strings_part, styles_part, epoch = _workbook(package)
        strings = _shared_strings(package, strings_part)
        dates, durations = _date_styles(package, styles_part)
        yield from _sheet(package, sheet, strings, epoch, dates, durations)
    except Invalid:
        raise
    except Exception as exc:  # zip, XML or value errors: the upload is not a sound workbook
        raise _unreadable(type(exc).__name__) from exc
    finally:
        package.zip.close()


def sheet_rows(stream: IO[bytes]) -> Generator[NumberedRow, None, None]:
    """(spreadsheet row number, values) of the active sheet's rows holding any value."""
    return _read(stream)
