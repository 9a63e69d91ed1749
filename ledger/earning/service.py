"""``Earning``: the earning services of one ledger composed, under the names the CLI, the API and
the other services call (``ledger.earning.approve(...)``).

Each part lives in its own module: the refused attempts (``refusals``), the limits
(``limits``), activities and tasks (``activities``), the store's details of records
(``details``), submitting and correcting records (``submissions``), four-eyes review
(``review``) and reading records with who may see their details (``reading``).
"""

from __future__ import annotations

from ledger.earning.activities import ActivityBoard
from ledger.earning.details import DetailsStore
from ledger.earning.limits import SchemeLimits
from ledger.earning.parts import EarningParts
from ledger.earning.reading import RecordReader
from ledger.earning.refusals import RefusalLog
from ledger.earning.review import Review
from ledger.earning.submissions import Submissions


class Earning:
    """Earning operations of one ledger: each service, and its operations by name."""

    def __init__(self, parts: EarningParts) -> None:
        self.refusal_log = RefusalLog(parts)
        self.details_store = DetailsStore(parts, self.refusal_log)
        self.scheme_limits = SchemeLimits(parts, self.refusal_log)
        self.activity_board = ActivityBoard(parts, self.refusal_log)
        self.record_reader = RecordReader(parts, self.details_store)
        self.review = Review(parts, self.refusal_log)
        self.submissions = Submissions(
            parts, self.refusal_log, self.details_store, self.activity_board, self.record_reader
        )

        self.refused = self.refusal_log.refused
        self.refusals = self.refusal_log.refusals

        self.set_limits = self.scheme_limits.set_limits
        self.limits = self.scheme_limits.limits
        self.set_reviewer_cap = self.scheme_limits.set_reviewer_cap

        self.create_activity = self.activity_board.create_activity
        self.activity = self.activity_board.activity
        self.activities = self.activity_board.activities
        self.sign_up = self.activity_board.sign_up
        self.assign = self.activity_board.assign
        self.leave = self.activity_board.leave
        self.cancel_activity = self.activity_board.cancel_activity

        self.submit_record = self.submissions.submit_record
        self.correct = self.submissions.correct
        self.import_batch_record = self.submissions.import_batch_record

        self.approve = self.review.approve
        self.reject = self.review.reject

        self.record = self.record_reader.record
        self.existing = self.record_reader.existing
        self.view = self.record_reader.view
        self.may_see = self.record_reader.may_see
        self.visibility = self.record_reader.visibility
        self.details = self.record_reader.details
        self.records_of = self.record_reader.records_of
