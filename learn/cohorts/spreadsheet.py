"""CSV that is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets
# (tab and carriage return too, per OWASP's CSV injection advice).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: object) -> object:
    """Text that a spreadsheet would evaluate gets a leading apostrophe; numbers pass as they
    are (a negative number is data, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(*, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell_safe(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else cell_safe(v) for v in row])
    return buffer.getvalue()
