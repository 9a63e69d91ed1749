"""Loading a certificate to verify: by its code from the store, or from its JSON file or HTML page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.earning.certificates.document import normalise_code
from ledger.earning.certificates.issued import find_issued
from ledger.earning.parts import Store
from ledger.errors import InputError

_EMBEDDED = re.compile(r'<script type="application/json" id="certificate">(.*?)</script>', re.S)


@dataclass(frozen=True)
class Loaded:
    """A certificate as read, before it is checked."""

    document: Any
    #: The code it was looked up by, if any.
    code: str | None
    #: The HTML page it was read from, if any.
    page: str | None


def load(ledger: Store, code_or_path: str | Path) -> Loaded:
    """The certificate issued here under a code (its document None if there is none), or the
    one in a .json or .html file."""
    if isinstance(code_or_path, str) and not Path(code_or_path).is_file():
        code = normalise_code(code_or_path)
        if code is not None:
            row = find_issued(ledger, code=code)
            return Loaded(json.loads(row.document_json) if row else None, code, None)
    path = Path(code_or_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{str(code_or_path)!r} is neither a verification code (like VPL-ABCD-EFGH-2345-"
            "6723) nor a certificate file (.json or .html)"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not UTF-8 text: not a certificate file") from None
    return parse_document(text, name=path.name, suffix=path.suffix.lower())


def parse_document(text: str, *, name: str, suffix: str = "") -> Loaded:
    """A certificate's JSON text, or an HTML page embedding it."""
    is_page = suffix in (".html", ".htm") or (suffix != ".json" and text.lstrip()[:1] == "<")
    payload = text
    if is_page:
        match = _EMBEDDED.search(text)
        if match is None:
            raise InputError(
                f'{name} carries no certificate (a <script type="application/json" '
                'id="certificate"> element)'
            )
        payload = match.group(1)
    try:
        document = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"the certificate in {name} is not JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    return Loaded(document, None, text if is_page else None)


def page_of(text: str) -> str | None:
    """The text, if it is an HTML page (whose JSON is checked against what it shows)."""
    return text if text.lstrip()[:1] == "<" else None
