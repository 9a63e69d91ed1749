// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IPointsLedger} from "./IPointsLedger.sol";

/// @title IServiceRecords
/// @notice Service records (服务记录) and their review (审核): the only way points are earned.
/// - A record holds the volunteer, the scheme, the activity if any, the start and end of the service,
///   the action (fixed-point rules) and two hashes: of the details kept off chain (activity name,
///   date, place, content, hours, organising unit, person in charge) and of the evidence (photos,
///   sign-in sheets). No personal data is on chain.
/// - The volunteer or an organiser submits; a reviewer of the scheme who is neither the volunteer
///   nor the submitter approves with a grade (the points are minted in the same transaction, valued
///   by the rule version in force) or rejects with a reason code. A record entered late needs a
///   second approval by another reviewer.
/// - Records are never edited: a correction is a new record that supersedes an approved one once
///   it is itself approved, and the points move by the difference.
/// - Batches: an organiser submits the hash of many records; a reviewer approves them in one
///   transaction that carries the records, with every check below applied to each.
/// - Anti-farming, per volunteer and scheme: records are paid in time order and never overlap;
///   caps on records, minutes and points per day and points per week (days and weeks of China
///   Standard Time, weeks from Monday, by the day the service started), checked by the points
///   ledger where each member's standing lives; reviewers' approvals per hour are capped here;
///   the scheme's quota per period is checked by the points ledger.
/// - Batch records are packed, RECORD_SIZE (99) bytes each: volunteer (20), activity id (4, 0 for
///   none), start (5), end (5), grade index or action index of the rule version (1), details hash
///   (32), evidence hash (32); numbers big-endian.
interface IServiceRecords {
    enum RecordStatus {
        None,
        Pending,
        AwaitingSecond,
        Approved,
        Rejected,
        Superseded
    }

    enum BatchStatus {
        None,
        Submitted,
        Approved,
        Rejected
    }

    struct RecordInput {
        uint256 schemeId;
        uint256 activityId;
        address volunteer;
        uint40 start;
        uint40 end;
        bytes32 action;
        bytes32 detailsHash;
        bytes32 evidenceHash;
    }

    struct Record {
        address volunteer;
        uint32 schemeId;
        uint32 activityId;
        RecordStatus status;
        uint8 grade;
        bool late;
        address submitter;
        uint40 start;
        uint40 end;
        address firstReviewer;
        uint40 submittedAt;
        uint32 ruleVersion;
        address reviewer;
        uint40 decidedAt;
        uint16 rejectReason;
        uint64 supersedes;
        uint64 correction;
        uint128 points;
        bytes32 action;
        bytes32 detailsHash;
        bytes32 evidenceHash;
    }

    struct Batch {
        uint32 schemeId;
        uint32 count;
        BatchStatus status;
        uint40 submittedAt;
        uint40 decidedAt;
        uint32 ruleVersion;
        uint16 rejectReason;
        address submitter;
        address reviewer;
        uint128 points;
        bytes32 recordsHash;
    }

    event LimitsSet(uint256 indexed schemeId, IPointsLedger.Limits limits, address indexed by);
    event ReviewerCapSet(uint256 indexed schemeId, address indexed reviewer, uint32 approvalsPerHour, address by);
    /// @notice A record (or, with `supersedes` non-zero, a correction of one) awaits review.
    event RecordSubmitted(
        uint256 indexed recordId,
        uint256 indexed schemeId,
        address indexed volunteer,
        address submitter,
        RecordInput record,
        bool late,
        uint256 supersedes
    );
    event RecordFirstApproval(uint256 indexed recordId, address indexed reviewer, uint8 grade);
    event RecordApproved(
        uint256 indexed recordId,
        uint256 indexed schemeId,
        address indexed volunteer,
        address reviewer,
        uint8 grade,
        uint256 ruleVersion,
        uint256 points
    );
    event RecordRejected(uint256 indexed recordId, address indexed reviewer, uint16 reason);
    event RecordSuperseded(uint256 indexed recordId, uint256 indexed correction, uint256 points, uint256 newPoints);
    event BatchSubmitted(
        uint256 indexed batchId, uint256 indexed schemeId, address indexed submitter, bytes32 recordsHash, uint256 count
    );
    /// @notice The records themselves are in the approving transaction's input; their keccak256 is
    /// the `recordsHash` of BatchSubmitted.
    event BatchApproved(
        uint256 indexed batchId, uint256 indexed schemeId, address indexed reviewer, uint256 ruleVersion, uint256 count, uint256 points
    );
    event BatchRejected(uint256 indexed batchId, address indexed reviewer, uint16 reason);
    /// @notice A record of an approved batch now also has a record id of its own (to be corrected).
    event BatchRecordImported(uint256 indexed batchId, uint256 indexed index, uint256 indexed recordId);

    error RecordsUnauthorized(uint256 schemeId, address account);
    error RecordsLimitsNotSet(uint256 schemeId);
    error RecordsInvalidLimits();
    error RecordsNoRule(uint256 schemeId);
    error RecordsUnknown(uint256 recordId);
    error RecordsWrongScheme(uint256 activityId, uint256 schemeId);
    error RecordsInvalidTimes(uint40 start, uint40 end);
    error RecordsInFuture(uint40 end);
    error RecordsInvalidHash();
    error RecordsActionRequired();
    error RecordsActionNotApplicable(bytes32 action);
    error RecordsGradeNotApplicable(uint8 grade);
    error RecordsMemberNotActive(address member);
    error RecordsSelfReview(uint256 recordId, address reviewer);
    error RecordsSecondReviewerSame(uint256 recordId, address reviewer);
    error RecordsGradeMismatch(uint256 recordId, uint8 first, uint8 second);
    error RecordsNotPending(uint256 recordId, RecordStatus status);
    error RecordsNotApproved(uint256 recordId, RecordStatus status);
    error RecordsCorrectionPending(uint256 recordId, uint256 correction);
    error RecordsInvalidReason(uint16 reason);
    error RecordsApprovalsPerHour(address reviewer, uint256 cap);
    error RecordsBatchUnknown(uint256 batchId);
    error RecordsBatchKnown(bytes32 recordsHash, uint256 batchId);
    error RecordsBatchInvalidSize(uint256 count, uint256 maxCount);
    error RecordsBatchClosed(uint256 batchId, BatchStatus status);
    error RecordsBatchMismatch(uint256 batchId);
    error RecordsBatchIndex(uint256 batchId, uint256 index, uint256 count);
    error RecordsStaleRule(uint256 given, uint256 current);

    /// @notice Sets a scheme's anti-farming limits (its issuer, or the council).
    function setLimits(uint256 schemeId, IPointsLedger.Limits calldata limits) external;

    /// @notice Gives one reviewer of a scheme their own approvals-per-hour cap (0: the scheme's).
    function setReviewerCap(uint256 schemeId, address reviewer, uint32 approvalsPerHour) external;

    /// @notice Submits a record, as the volunteer or as an organiser of the scheme.
    function submitRecord(RecordInput calldata input) external returns (uint256 recordId);

    /// @notice Gives record `index` of an approved batch a record id of its own, as approved with
    /// the batch (same figures, points, rule version, submitter and reviewer), so that it can be
    /// corrected like any record; `records` are the batch's records as approved. Anyone may call
    /// it; a second call returns the same id.
    function importBatchRecord(uint256 batchId, uint256 index, bytes calldata records)
        external
        returns (uint256 recordId);

    /// @notice Submits a correction of an approved record: a new record that supersedes it once approved.
    function submitCorrection(
        uint256 recordId,
        uint40 start,
        uint40 end,
        bytes32 action,
        bytes32 detailsHash,
        bytes32 evidenceHash
    ) external returns (uint256 correctionId);

    /// @notice Approves a record with a grade (0 = "A" ...; 0 for fixed-point actions); on the final
    /// approval the points are minted.
    function approveRecord(uint256 recordId, uint8 grade) external;

    /// @notice Rejects a record with a reason code (non-zero).
    function rejectRecord(uint256 recordId, uint16 reason) external;

    /// @notice Submits a batch: the keccak256 of `count` packed records (RECORD_SIZE bytes each).
    function submitBatch(uint256 schemeId, bytes32 recordsHash, uint256 count) external returns (uint256 batchId);

    /// @notice Approves a submitted batch under rule version `ruleVersion` (which must be in force).
    function approveBatch(uint256 batchId, uint256 ruleVersion, bytes calldata records) external;

    /// @notice Rejects a submitted batch with a reason code.
    function rejectBatch(uint256 batchId, uint16 reason) external;

    function record(uint256 recordId) external view returns (Record memory);
    function recordCount() external view returns (uint256);
    function batch(uint256 batchId) external view returns (Batch memory);
    function batchCount() external view returns (uint256);
    function batchOf(bytes32 recordsHash) external view returns (uint256);
    /// @notice The record id a batch record was imported as (0 if never).
    function batchRecordId(uint256 batchId, uint256 index) external view returns (uint256);
    function limits(uint256 schemeId) external view returns (IPointsLedger.Limits memory);
}
