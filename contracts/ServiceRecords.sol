// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {ServiceTime} from "./utils/ServiceTime.sol";
import {BatchRecords} from "./utils/BatchRecords.sol";
import {IServiceRecords} from "./interfaces/IServiceRecords.sol";
import {IActivities} from "./interfaces/IActivities.sol";
import {IEarningRules} from "./interfaces/IEarningRules.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title ServiceRecords
/// @notice Service records, four-eyes review and batch issuance, with the anti-farming checks the
/// chain can see. The only holder of the points ledger's ISSUANCE_ROLE for earned points.
/// @dev Gas matters here: a city issues tens of thousands of records a day. Each volunteer's
/// standing in a scheme (latest paid end, the day's and week's counts) lives in the points
/// ledger's account word next to the balance, so the ledger checks it while paying.
contract ServiceRecords is IServiceRecords, Governed {
    bytes32 public constant REVIEWER_ROLE = keccak256("REVIEWER_ROLE");
    bytes32 public constant ORGANISER_ROLE = keccak256("ORGANISER_ROLE");

    /// Bytes per record in a batch (layout in utils/BatchRecords.sol).
    uint256 public constant RECORD_SIZE = BatchRecords.RECORD_SIZE;
    uint256 public constant MAX_BATCH = 1000;
    /// A record covers at most one day of service.
    uint256 public constant MAX_RECORD_SECONDS = 1 days;
    uint256 public constant MAX_LATE_WORKING_DAYS = 60;
    /// Source tags of points issued (top byte of the ledger's `source`): a record or a batch.
    uint256 public constant SOURCE_RECORD = 1;
    uint256 public constant SOURCE_BATCH = 2;

    ISchemeRegistry private immutable _schemes;
    IMemberRegistry private immutable _members;
    IPointsLedger private immutable _ledger;
    IEarningRules private immutable _rules;
    IActivities private immutable _activities;

    mapping(uint256 schemeId => IPointsLedger.Limits) private _limits;
    /// Per reviewer: hour (32 bits) | approvals in it (32) | own cap (32, 0 = the scheme's).
    mapping(uint256 schemeId => mapping(address reviewer => uint256 packed)) private _load;
    mapping(uint256 recordId => Record) private _records;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(bytes32 recordsHash => uint256 batchId) private _batchIds;
    mapping(uint256 batchId => mapping(uint256 index => uint256 recordId)) private _imported;
    uint256 private _recordCount;
    uint256 private _batchCount;

    constructor(
        address admin,
        address forwarder,
        ISchemeRegistry schemes,
        IMemberRegistry members,
        IPointsLedger ledger,
        IEarningRules rules,
        IActivities activities
    ) Governed(admin, forwarder) {
        _schemes = schemes;
        _members = members;
        _ledger = ledger;
        _rules = rules;
        _activities = activities;
    }

    // --- configuration -------------------------------------------------------------------------

    /// @inheritdoc IServiceRecords
    function setLimits(uint256 schemeId, IPointsLedger.Limits calldata l) external {
        _checkIssuer(schemeId);
        if (
            l.recordsPerDay == 0 || l.recordsPerDay > 63 || l.minutesPerDay == 0 || l.minutesPerDay > 1440
                || l.pointsPerDay == 0 || l.pointsPerDay > (1 << 28) - 1 || l.pointsPerWeek == 0
                || l.pointsPerWeek > (1 << 36) - 1 || l.approvalsPerHour == 0 || l.lateWorkingDays == 0
                || l.lateWorkingDays > MAX_LATE_WORKING_DAYS
        ) revert RecordsInvalidLimits();
        _limits[schemeId] = l;
        emit LimitsSet(schemeId, l, _msgSender());
    }

    /// @inheritdoc IServiceRecords
    function setReviewerCap(uint256 schemeId, address reviewer, uint32 approvalsPerHour) external {
        _checkIssuer(schemeId);
        uint256 load = _load[schemeId][reviewer];
        _load[schemeId][reviewer] = (load & ~uint256(type(uint32).max)) | approvalsPerHour;
        emit ReviewerCapSet(schemeId, reviewer, approvalsPerHour, _msgSender());
    }

    // --- one record at a time ------------------------------------------------------------------

    /// @inheritdoc IServiceRecords
    function submitRecord(RecordInput calldata input) external returns (uint256 recordId) {
        address sender = _msgSender();
        address volunteer = input.volunteer;
        uint256 schemeId = input.schemeId;
        bool organiser = sender != volunteer;
        if (organiser && !_isOrganiser(schemeId, sender)) revert RecordsUnauthorized(schemeId, sender);
        _requireActive(volunteer);
        _checkRecordShape(schemeId, input.start, input.end, input.action, input.detailsHash, input.evidenceHash);
        if (input.activityId != 0) {
            uint256 activityScheme = _activities.useForRecord(
                input.activityId, volunteer, input.start, input.end, organiser ? sender : address(0)
            );
            if (activityScheme != schemeId) revert RecordsWrongScheme(input.activityId, schemeId);
        }
        recordId = _store(input, sender, 0);
    }

    /// @inheritdoc IServiceRecords
    function submitCorrection(
        uint256 recordId,
        uint40 start,
        uint40 end,
        bytes32 action,
        bytes32 detailsHash,
        bytes32 evidenceHash
    ) external returns (uint256 correctionId) {
        Record storage old = _record(recordId);
        if (old.status != RecordStatus.Approved) revert RecordsNotApproved(recordId, old.status);
        if (old.correction != 0) revert RecordsCorrectionPending(recordId, old.correction);
        address sender = _msgSender();
        address volunteer = old.volunteer;
        uint256 schemeId = old.schemeId;
        if (sender != volunteer && !_isOrganiser(schemeId, sender)) revert RecordsUnauthorized(schemeId, sender);
        _checkRecordShape(schemeId, start, end, action, detailsHash, evidenceHash);
        if (old.activityId != 0) {
            IActivities.Activity memory a = _activities.activity(old.activityId);
            if (start < a.start || end > a.end) revert IActivities.ActivityOutsideWindow(old.activityId, start, end);
        }
        correctionId = _store(
            RecordInput(schemeId, old.activityId, volunteer, start, end, action, detailsHash, evidenceHash),
            sender,
            recordId
        );
        old.correction = uint64(correctionId);
    }

    /// @inheritdoc IServiceRecords
    function approveRecord(uint256 recordId, uint8 grade) external {
        Record storage r = _record(recordId);
        address reviewer = _msgSender();
        uint256 schemeId = r.schemeId;
        _checkReview(recordId, r, reviewer);
        IPointsLedger.Limits memory lim = _limitsOf(schemeId);

        if (r.status == RecordStatus.AwaitingSecond) {
            if (reviewer == r.firstReviewer) revert RecordsSecondReviewerSame(recordId, reviewer);
            if (grade != r.grade) revert RecordsGradeMismatch(recordId, r.grade, grade);
        }
        uint256 version = _rules.currentVersion(schemeId);
        if (version == 0) revert RecordsNoRule(schemeId);
        uint256 points = _value(schemeId, version, r, grade);
        _countApprovals(schemeId, reviewer, 1, lim);

        if (r.late && r.status == RecordStatus.Pending) {
            r.status = RecordStatus.AwaitingSecond;
            r.firstReviewer = reviewer;
            r.grade = grade;
            emit RecordFirstApproval(recordId, reviewer, grade);
            return;
        }

        r.status = RecordStatus.Approved;
        r.grade = grade;
        r.reviewer = reviewer;
        r.decidedAt = uint40(block.timestamp);
        r.ruleVersion = uint32(version);
        r.points = uint128(points);
        bytes32 source = bytes32((SOURCE_RECORD << 248) | recordId);
        IPointsLedger.Service memory service = _service(r, points);
        if (r.supersedes == 0) {
            _ledger.earn(schemeId, r.volunteer, service, lim, source);
        } else {
            Record storage old = _records[r.supersedes];
            IPointsLedger.Service memory replaced = _service(old, old.points);
            old.status = RecordStatus.Superseded;
            _ledger.correct(schemeId, r.volunteer, replaced, service, lim, source);
            emit RecordSuperseded(r.supersedes, recordId, old.points, points);
        }
        emit RecordApproved(recordId, schemeId, r.volunteer, reviewer, grade, version, points);
    }

    /// @inheritdoc IServiceRecords
    function rejectRecord(uint256 recordId, uint16 reason) external {
        Record storage r = _record(recordId);
        address reviewer = _msgSender();
        _checkReview(recordId, r, reviewer);
        if (reason == 0) revert RecordsInvalidReason(reason);
        r.status = RecordStatus.Rejected;
        r.reviewer = reviewer;
        r.decidedAt = uint40(block.timestamp);
        r.rejectReason = reason;
        if (r.supersedes != 0) {
            _records[r.supersedes].correction = 0;
        } else if (r.activityId != 0) {
            _activities.releaseRecord(r.activityId, r.volunteer);
        }
        emit RecordRejected(recordId, reviewer, reason);
    }

    // --- batches -------------------------------------------------------------------------------

    /// @inheritdoc IServiceRecords
    function submitBatch(uint256 schemeId, bytes32 recordsHash, uint256 count) external returns (uint256 batchId) {
        address sender = _msgSender();
        if (!_isOrganiser(schemeId, sender)) revert RecordsUnauthorized(schemeId, sender);
        _limitsOf(schemeId);
        if (count == 0 || count > MAX_BATCH) revert RecordsBatchInvalidSize(count, MAX_BATCH);
        if (recordsHash == bytes32(0)) revert RecordsInvalidHash();
        uint256 known = _batchIds[recordsHash];
        if (known != 0) revert RecordsBatchKnown(recordsHash, known);
        batchId = ++_batchCount;
        _batchIds[recordsHash] = batchId;
        Batch storage b = _batches[batchId];
        b.schemeId = uint32(schemeId);
        b.count = uint32(count);
        b.status = BatchStatus.Submitted;
        b.submittedAt = uint40(block.timestamp);
        b.submitter = sender;
        b.recordsHash = recordsHash;
        emit BatchSubmitted(batchId, schemeId, sender, recordsHash, count);
    }

    /// @inheritdoc IServiceRecords
    /// @dev All or nothing: the first refused record reverts the batch with its index and problem.
    function approveBatch(uint256 batchId, uint256 ruleVersion, bytes calldata records) external {
        Batch storage b = _batch(batchId);
        IPointsLedger.BatchTerms memory terms = _open(b, batchId, ruleVersion, records);
        b.status = BatchStatus.Approved;
        b.reviewer = terms.reviewer;
        b.decidedAt = uint40(block.timestamp);
        b.ruleVersion = uint32(ruleVersion);
        uint256 total = _ledger.earnBatch(terms, records, bytes32((SOURCE_BATCH << 248) | batchId));
        b.points = uint128(total);
        _takePlaces(terms.schemeId, records);
        emit BatchApproved(batchId, terms.schemeId, terms.reviewer, ruleVersion, b.count, total);
    }

    /// @dev Checks the batch can be approved by the caller with these records, and sets out what
    /// its records are checked against.
    function _open(Batch storage b, uint256 batchId, uint256 ruleVersion, bytes calldata records)
        private
        returns (IPointsLedger.BatchTerms memory t)
    {
        if (b.status != BatchStatus.Submitted) revert RecordsBatchClosed(batchId, b.status);
        t.schemeId = b.schemeId;
        t.reviewer = _msgSender();
        t.submitter = b.submitter;
        if (!_schemes.hasSchemeRole(t.schemeId, REVIEWER_ROLE, t.reviewer)) {
            revert RecordsUnauthorized(t.schemeId, t.reviewer);
        }
        if (t.reviewer == t.submitter) revert RecordsSelfReview(0, t.reviewer);
        if (records.length != uint256(b.count) * RECORD_SIZE || keccak256(records) != b.recordsHash) {
            revert RecordsBatchMismatch(batchId);
        }
        uint256 version = _rules.currentVersion(t.schemeId);
        if (version == 0) revert RecordsNoRule(t.schemeId);
        if (ruleVersion != version) revert RecordsStaleRule(ruleVersion, version);
        t.submittedAt = b.submittedAt;
        t.limits = _limitsOf(t.schemeId);
        if (_rules.ruleKind(t.schemeId, version) == IEarningRules.RuleKind.Duration) {
            t.duration = true;
            (t.pointsPerHour, t.grades) = _rules.durationRule(t.schemeId, version);
        } else {
            (, t.actionPoints) = _rules.fixedRule(t.schemeId, version);
        }
        _countApprovals(t.schemeId, t.reviewer, b.count, t.limits);
    }

    function _figures(bytes calldata records, uint256 i)
        private
        pure
        returns (address, uint256, uint256, uint256, uint8)
    {
        (address volunteer, uint32 activityId, uint40 start, uint40 end, uint8 code) = BatchRecords.read(records, i);
        return (volunteer, activityId, start, end, code);
    }

    /// @dev Records of one activity in a row take their places together (the ledger has checked
    /// every record's times).
    function _takePlaces(uint256 schemeId, bytes calldata records) private {
        uint256 count = records.length / RECORD_SIZE;
        uint256 activityId = 0;
        uint256 places = 0;
        uint256 earliest = 0;
        uint256 latest = 0;
        for (uint256 i = 0; i <= count; ++i) {
            uint256 id = 0;
            uint256 start = 0;
            uint256 end = 0;
            if (i < count) (, id, start, end,) = _figures(records, i);
            if (id != activityId || i == count) {
                if (activityId != 0) {
                    _activities.useForBatch(activityId, schemeId, uint32(places), uint40(earliest), uint40(latest));
                }
                (activityId, places, earliest, latest) = (id, 0, start, end);
            }
            if (id != 0) {
                ++places;
                if (start < earliest) earliest = start;
                if (end > latest) latest = end;
            }
        }
    }

    /// @inheritdoc IServiceRecords
    function importBatchRecord(uint256 batchId, uint256 index, bytes calldata records)
        external
        returns (uint256 recordId)
    {
        Batch storage b = _batch(batchId);
        if (b.status != BatchStatus.Approved) revert RecordsBatchClosed(batchId, b.status);
        if (index >= b.count) revert RecordsBatchIndex(batchId, index, b.count);
        recordId = _imported[batchId][index];
        if (recordId != 0) return recordId;
        if (records.length != uint256(b.count) * RECORD_SIZE || keccak256(records) != b.recordsHash) {
            revert RecordsBatchMismatch(batchId);
        }
        (address volunteer, uint32 activityId, uint40 start, uint40 end, uint8 code) = BatchRecords.read(records, index);
        recordId = ++_recordCount;
        _imported[batchId][index] = recordId;
        Record storage r = _records[recordId];
        r.volunteer = volunteer;
        r.schemeId = b.schemeId;
        r.activityId = activityId;
        r.status = RecordStatus.Approved;
        r.submitter = b.submitter;
        r.start = start;
        r.end = end;
        r.submittedAt = b.submittedAt;
        r.ruleVersion = b.ruleVersion;
        r.reviewer = b.reviewer;
        r.decidedAt = b.decidedAt;
        uint256 offset = index * RECORD_SIZE;
        r.detailsHash = bytes32(records[offset + 35:offset + 67]);
        r.evidenceHash = bytes32(records[offset + 67:offset + 99]);
        if (_rules.ruleKind(b.schemeId, b.ruleVersion) == IEarningRules.RuleKind.Duration) {
            r.grade = code;
            r.points = uint128(_rules.durationPoints(b.schemeId, b.ruleVersion, uint32((end - start) / 60), code));
        } else {
            (bytes32[] memory actions, uint64[] memory points) = _rules.fixedRule(b.schemeId, b.ruleVersion);
            r.action = actions[code];
            r.points = points[code];
        }
        emit BatchRecordImported(batchId, index, recordId);
    }

    /// @inheritdoc IServiceRecords
    function rejectBatch(uint256 batchId, uint16 reason) external {
        Batch storage b = _batch(batchId);
        if (b.status != BatchStatus.Submitted) revert RecordsBatchClosed(batchId, b.status);
        address reviewer = _msgSender();
        if (!_schemes.hasSchemeRole(b.schemeId, REVIEWER_ROLE, reviewer)) {
            revert RecordsUnauthorized(b.schemeId, reviewer);
        }
        if (reviewer == b.submitter) revert RecordsSelfReview(0, reviewer);
        if (reason == 0) revert RecordsInvalidReason(reason);
        b.status = BatchStatus.Rejected;
        b.reviewer = reviewer;
        b.decidedAt = uint40(block.timestamp);
        b.rejectReason = reason;
        emit BatchRejected(batchId, reviewer, reason);
    }

    // --- views ---------------------------------------------------------------------------------

    function record(uint256 recordId) external view returns (Record memory) {
        return _record(recordId);
    }

    function recordCount() external view returns (uint256) {
        return _recordCount;
    }

    function batch(uint256 batchId) external view returns (Batch memory) {
        return _batch(batchId);
    }

    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    function batchOf(bytes32 recordsHash) external view returns (uint256) {
        return _batchIds[recordsHash];
    }

    function batchRecordId(uint256 batchId, uint256 index) external view returns (uint256) {
        return _imported[batchId][index];
    }

    function limits(uint256 schemeId) external view returns (IPointsLedger.Limits memory) {
        return _limits[schemeId];
    }

    /// @notice Approvals `reviewer` made in the current hour, and their cap.
    function reviewerLoad(uint256 schemeId, address reviewer) external view returns (uint256 used, uint256 cap) {
        uint256 load = _load[schemeId][reviewer];
        used = uint32(load >> 64) == block.timestamp / 1 hours ? uint32(load >> 32) : 0;
        cap = uint32(load) != 0 ? uint32(load) : _limits[schemeId].approvalsPerHour;
    }

    /// @notice The day number (China Standard Time) of a Unix time.
    function dayOf(uint256 timestamp) external pure returns (uint256) {
        return ServiceTime.dayOf(timestamp);
    }

    /// @notice Working days (Monday to Friday) after day `from` up to and including day `to`.
    function workingDaysBetween(uint256 from, uint256 to) external pure returns (uint256) {
        return ServiceTime.workingDaysBetween(from, to);
    }

    function contracts()
        external
        view
        returns (address schemes, address members, address ledger, address rules, address activities)
    {
        return (address(_schemes), address(_members), address(_ledger), address(_rules), address(_activities));
    }

    // --- anti-farming --------------------------------------------------------------------------

    function _countApprovals(uint256 schemeId, address reviewer, uint256 n, IPointsLedger.Limits memory lim)
        private
    {
        uint256 load = _load[schemeId][reviewer];
        uint256 hour = block.timestamp / 1 hours;
        uint256 used = uint32(load >> 64) == hour ? uint32(load >> 32) : 0;
        uint256 cap = uint32(load) != 0 ? uint32(load) : lim.approvalsPerHour;
        if (used + n > cap) revert RecordsApprovalsPerHour(reviewer, cap);
        _load[schemeId][reviewer] = (uint256(uint32(hour)) << 64) | ((used + n) << 32) | uint32(load);
    }

    // --- checks and storage --------------------------------------------------------------------

    function _checkRecordShape(
        uint256 schemeId,
        uint40 start,
        uint40 end,
        bytes32 action,
        bytes32 detailsHash,
        bytes32 evidenceHash
    ) private view {
        _limitsOf(schemeId);
        uint256 version = _rules.currentVersion(schemeId);
        if (version == 0) revert RecordsNoRule(schemeId);
        bool duration = _rules.ruleKind(schemeId, version) == IEarningRules.RuleKind.Duration;
        if (end < start || end - start > MAX_RECORD_SECONDS || (duration && end - start < 60)) {
            revert RecordsInvalidTimes(start, end);
        }
        if (end > block.timestamp) revert RecordsInFuture(end);
        if (duration && action != bytes32(0)) revert RecordsActionNotApplicable(action);
        if (!duration && action == bytes32(0)) revert RecordsActionRequired();
        if (detailsHash == bytes32(0) || evidenceHash == bytes32(0)) revert RecordsInvalidHash();
    }

    function _store(RecordInput memory input, address submitter, uint256 supersedes) private returns (uint256 id) {
        id = ++_recordCount;
        uint256 waited =
            ServiceTime.workingDaysBetween(ServiceTime.dayOf(input.end), ServiceTime.dayOf(block.timestamp));
        bool late = waited > _limits[input.schemeId].lateWorkingDays;
        Record storage r = _records[id];
        r.volunteer = input.volunteer;
        r.schemeId = uint32(input.schemeId);
        r.activityId = uint32(input.activityId);
        r.status = RecordStatus.Pending;
        r.late = late;
        r.submitter = submitter;
        r.start = input.start;
        r.end = input.end;
        r.submittedAt = uint40(block.timestamp);
        r.supersedes = uint64(supersedes);
        r.action = input.action;
        r.detailsHash = input.detailsHash;
        r.evidenceHash = input.evidenceHash;
        emit RecordSubmitted(id, input.schemeId, input.volunteer, submitter, input, late, supersedes);
    }

    /// @dev The reviewer holds REVIEWER_ROLE in the record's scheme, is neither the volunteer nor
    /// the submitter, and the record awaits a decision.
    function _checkReview(uint256 recordId, Record storage r, address reviewer) private view {
        if (r.status != RecordStatus.Pending && r.status != RecordStatus.AwaitingSecond) {
            revert RecordsNotPending(recordId, r.status);
        }
        if (!_schemes.hasSchemeRole(r.schemeId, REVIEWER_ROLE, reviewer)) revert RecordsUnauthorized(r.schemeId, reviewer);
        if (reviewer == r.volunteer || reviewer == r.submitter) revert RecordsSelfReview(recordId, reviewer);
    }

    function _value(uint256 schemeId, uint256 version, Record storage r, uint8 grade) private view returns (uint256) {
        if (_rules.ruleKind(schemeId, version) == IEarningRules.RuleKind.Duration) {
            return _rules.durationPoints(schemeId, version, uint32(_minutesOf(r)), grade);
        }
        if (grade != 0) revert RecordsGradeNotApplicable(grade);
        return _rules.actionPoints(schemeId, version, r.action);
    }

    function _minutesOf(Record storage r) private view returns (uint256) {
        return r.action == bytes32(0) ? (r.end - r.start) / 60 : 0;
    }

    function _service(Record storage r, uint256 points) private view returns (IPointsLedger.Service memory) {
        return IPointsLedger.Service(r.start, r.end, uint32(_minutesOf(r)), points);
    }

    function _requireActive(address member) private view {
        if (_members.statusOf(member) != IMemberRegistry.MemberStatus.Active) revert RecordsMemberNotActive(member);
    }

    function _limitsOf(uint256 schemeId) private view returns (IPointsLedger.Limits memory lim) {
        lim = _limits[schemeId];
        if (lim.recordsPerDay == 0) {
            _schemes.issuerOf(schemeId); // SchemeUnknown for a scheme that does not exist
            revert RecordsLimitsNotSet(schemeId);
        }
    }

    function _checkIssuer(uint256 schemeId) private view {
        address sender = _msgSender();
        if (sender != _schemes.issuerOf(schemeId) && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert RecordsUnauthorized(schemeId, sender);
        }
    }

    function _isOrganiser(uint256 schemeId, address account) private view returns (bool) {
        return account == _schemes.issuerOf(schemeId) || _schemes.hasSchemeRole(schemeId, ORGANISER_ROLE, account);
    }

    function _record(uint256 recordId) private view returns (Record storage r) {
        if (recordId == 0 || recordId > _recordCount) revert RecordsUnknown(recordId);
        r = _records[recordId];
    }

    function _batch(uint256 batchId) private view returns (Batch storage b) {
        if (batchId == 0 || batchId > _batchCount) revert RecordsBatchUnknown(batchId);
        b = _batches[batchId];
    }
}
