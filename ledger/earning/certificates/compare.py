"""Reading a certificate's parts and comparing them: typed fields of a line, the changes between
two documents, and where stated totals differ from what the lines add up to."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger.values import CST


class Malformed(Exception):
    """A part of the document is not shaped as a certificate's; the message says which."""


def is_obj(value: Any) -> bool:
    return isinstance(value, dict)


def text_of(line: dict[str, Any], name: str) -> str:
    value = line.get(name)
    if not isinstance(value, str):
        raise Malformed(f"{name} is missing or not text")
    return value


def time_of(line: dict[str, Any], name: str) -> int:
    text = text_of(line, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"{name} {text!r} is not a time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return int(moment.timestamp())


def short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mismatches(expected: Any, stated: Any, path: str) -> list[str]:
    """Where stated totals differ from what the lines add up to."""
    if isinstance(expected, dict) and isinstance(stated, dict):
        return _by_key(
            expected,
            stated,
            lambda key: f"{path}.{key}",
            lambda where, value: f"{where} is missing; the lines add up to {short(value)}",
            lambda where, value: f"{where} is {short(value)}, but no line is counted in it",
            mismatches,
        )
    if expected != stated or type(expected) is not type(stated):
        return [f"{path} is {short(stated)}; the lines add up to {short(expected)}"]
    return []


def changes_between(original: Any, altered: Any, path: str = "") -> list[str]:
    """What differs between two documents, by path; lines are named by their reference."""
    if isinstance(original, dict) and isinstance(altered, dict):
        return _by_key(
            original,
            altered,
            lambda key: f"{path}.{key}" if path else str(key),
            lambda where, _: f"{where} removed",
            lambda where, _: f"{where} added",
            changes_between,
        )
    if isinstance(original, list) and isinstance(altered, list):
        if all(is_obj(x) and isinstance(x.get("ref"), str) for x in original + altered):
            before = {x["ref"]: x for x in original}
            after = {x["ref"]: x for x in altered}
            if len(before) == len(original) and len(after) == len(altered):
                out: list[str] = []
                for ref, line in before.items():
                    if ref not in after:
                        out.append(f"{path}[{ref}] removed")
                    else:
                        out.extend(changes_between(line, after[ref], f"{path}[{ref}]"))
                out.extend(f"{path}[{ref}] added" for ref in after if ref not in before)
                if not out and list(before) != list(after):
                    out.append(f"{path} reordered")
                return out
        if len(original) != len(altered):
            return [f"{path}: {len(original)} entries, now {len(altered)}"]
        out = []
        for index, (a, b) in enumerate(zip(original, altered, strict=True)):
            out.extend(changes_between(a, b, f"{path}[{index}]"))
        return out
    if original != altered or type(original) is not type(altered):
        return [f"{path}: {short(original)} → {short(altered)}"]
    return []


def _by_key(
    first: dict[Any, Any],
    second: dict[Any, Any],
    where: Callable[[Any], str],
    only_first: Callable[[str, Any], str],
    only_second: Callable[[str, Any], str],
    compare: Callable[[Any, Any, str], list[str]],
) -> list[str]:
    """Two objects compared key by key, in key order: a key that only one holds is reported as
    such, the values of a key both hold are compared in turn."""
    out: list[str] = []
    for key in sorted(set(first) | set(second), key=str):
        at = where(key)
        if key not in second:
            out.append(only_first(at, first[key]))
        elif key not in first:
            out.append(only_second(at, second[key]))
        else:
            out.extend(compare(first[key], second[key], at))
    return out
