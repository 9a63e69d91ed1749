"""Shared by the custodial wallet specifications: many PIN guesses at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

GUESSES = 40
#: The right PIN is sent once this many answers have come back (the lock is due by then).
RIGHT_AFTER = 10

T = TypeVar("T")


def race(guess: Callable[[str], T], *, wrong: str, right: str) -> list[T | Exception]:
    """`GUESSES` guesses at once, all `wrong` but one `right` sent late (after `RIGHT_AFTER`
    answers): every answer, or the error it raised."""
    start = threading.Barrier(GUESSES - 1)
    answered = threading.Semaphore(0)

    def one(pin: str) -> T | Exception:
        if pin == right:
            for _ in range(RIGHT_AFTER):
                answered.acquire()
        else:
            start.wait()
        try:
            return guess(pin)
        except Exception as exc:  # the answer under test
            return exc
        finally:
            answered.release()

    pins = [wrong] * (GUESSES - 1)
    pins.insert(30, right)
    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        return list(pool.map(one, pins))
