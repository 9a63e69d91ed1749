"""A scheme's anti-farming limits (per volunteer: records, minutes and points a day, points a week,
late entry) and its reviewers' approval caps, as its issuer sets them."""

from __future__ import annotations

from ledger.chain.contracts import Limits
from ledger.chain.tx import Signer
from ledger.earning.parts import SchemeRecords
from ledger.earning.refusals import RefusalLog
from ledger.errors import InputError
from ledger.values import parse_address


class SchemeLimits:
    """Setting and reading the limits the service-records contract enforces."""

    def __init__(self, parts: SchemeRecords, refusals: RefusalLog) -> None:
        self.parts, self.refusals = parts, refusals

    def set_limits(self, *, issuer: Signer, scheme: str | int, limits: Limits) -> Limits:
        """Set a scheme's anti-farming limits; setting the limits in force again is a no-op."""
        s = self.parts.scheme(scheme)
        if self.parts.records.limits(s.id) == limits:
            return limits
        with self.refusals.attempt(issuer.address, "set-limits", s.code):
            self.parts.records.set_limits(issuer, s.id, limits)
        return self.parts.records.limits(s.id)

    def limits(self, scheme: str | int) -> Limits:
        return self.parts.records.limits(self.parts.scheme(scheme).id)

    def set_reviewer_cap(
        self, *, issuer: Signer, scheme: str | int, reviewer: str, per_hour: int
    ) -> None:
        s = self.parts.scheme(scheme)
        reviewer = parse_address(reviewer, what="reviewer address")
        if not 0 <= per_hour < 2**32:
            raise InputError(f"approvals per hour must be 0 to 2^32 - 1 (got {per_hour})")
        with self.refusals.attempt(issuer.address, "set-reviewer-cap", reviewer):
            self.parts.records.set_reviewer_cap(issuer, s.id, reviewer, per_hour)
