"""web3 checks a contract's whole ABI for colliding selectors on every call it encodes (web3 8's
``get_abi_element`` calls ``validate_abi``, hashing every function's signature each time): for
PointsLedger's ABI that is about a hundred Keccak hashes per call, the largest single cost of a
relayed write in the API (measured with py-spy under 30 concurrent clients). An ABI does not change
once built, so here the check runs once per ABI object and is remembered.

``install()`` puts the remembering check in place of web3's, in the two modules that call it; it
is idempotent. An ABI that fails the check is never remembered: it fails on every use, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import web3._utils.normalizers as _normalizers
import web3.utils.abi as _abi_utils

#: id(abi) -> the abi itself (kept alive while remembered, so its id is not reused meanwhile);
#: the first checked first out when full (an ABI built anew for each use is not a leak).
_checked: OrderedDict[int, Any] = OrderedDict()
_MOST = 256
_guard = threading.Lock()
_original: Callable[[Any], None] | None = None


def _validate_once(abi: Any) -> None:
    key = id(abi)
    # Read without the lock (a dict read is atomic): under a hundred threads the lock itself was
    # what they waited on. The order is then that of first checks, which is enough to bound it.
    if _checked.get(key) is abi:
        return
    assert _original is not None
    _original(abi)  # raises for a bad ABI, which is then not remembered
    with _guard:
        _checked[key] = abi
        while len(_checked) > _MOST:
            _checked.popitem(last=False)


def install() -> None:
    """Use the remembering check from now on (once per process)."""
    global _original
    with _guard:
        if _original is not None:
            return
        _original = _abi_utils.validate_abi
        _abi_utils.validate_abi = _validate_once  # type: ignore[assignment]
        _normalizers.validate_abi = _validate_once  # type: ignore[assignment]


def checked_count() -> int:
    """How many ABIs passed the check in this process."""
    return len(_checked)
