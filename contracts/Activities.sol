// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {IActivities} from "./interfaces/IActivities.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title Activities
/// @notice Activities and tasks, their windows, capacities and participants.
/// @dev Places are taken by enrolments (sign-up or assignment) and by records approved in batches;
/// together they never exceed the capacity. A participant has at most one record per activity.
contract Activities is IActivities, Governed {
    uint32 public constant MAX_CAPACITY = 100_000;
    /// An activity lasts at most a year.
    uint40 public constant MAX_DURATION = 366 days;

    ISchemeRegistry private immutable _schemes;
    IMemberRegistry private immutable _members;
    /// The scheme registry's organiser role: organisers (and the issuer) publish and assign.
    bytes32 public constant ORGANISER_ROLE = keccak256("ORGANISER_ROLE");
    address private _records;

    mapping(uint256 activityId => Activity) private _activities;
    mapping(uint256 activityId => mapping(address member => Participation)) private _participation;
    uint256 private _count;

    modifier onlyRecords() {
        if (msg.sender != _records) revert ActivityCallerNotRecords(msg.sender);
        _;
    }

    constructor(address admin, address forwarder, ISchemeRegistry schemes, IMemberRegistry members)
        Governed(admin, forwarder)
    {
        _schemes = schemes;
        _members = members;
    }

    /// @notice Links the service-records contract that uses places; once, at deployment.
    function linkRecords(address serviceRecords) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_records != address(0)) revert ActivityRecordsAlreadyLinked(_records);
        _records = serviceRecords;
        emit RecordsLinked(serviceRecords);
    }

    /// @inheritdoc IActivities
    function createActivity(uint256 schemeId, uint40 start, uint40 end, uint32 capacity, bytes32 detailsHash)
        external
        returns (uint256)
    {
        return _create(schemeId, start, end, capacity, detailsHash, address(0));
    }

    /// @inheritdoc IActivities
    function createTask(uint256 schemeId, address requester, uint40 start, uint40 end, bytes32 detailsHash)
        external
        returns (uint256)
    {
        if (_members.statusOf(requester) != IMemberRegistry.MemberStatus.Active) {
            revert ActivityMemberNotActive(requester);
        }
        return _create(schemeId, start, end, 1, detailsHash, requester);
    }

    /// @inheritdoc IActivities
    function cancelActivity(uint256 activityId, uint16 reason) external {
        Activity storage a = _activity(activityId);
        _checkOrganiser(a.schemeId, _msgSender());
        if (reason == 0) revert ActivityInvalidReason(reason);
        if (a.cancelled) revert ActivityCancelledAlready(activityId);
        a.cancelled = true;
        emit ActivityCancelled(activityId, _msgSender(), reason);
    }

    /// @inheritdoc IActivities
    function signUp(uint256 activityId) external {
        address member = _msgSender();
        _enrol(activityId, _activity(activityId), member, member);
    }

    /// @inheritdoc IActivities
    function assign(uint256 activityId, address member) external {
        Activity storage a = _activity(activityId);
        _checkOrganiser(a.schemeId, _msgSender());
        _enrol(activityId, a, member, _msgSender());
    }

    /// @inheritdoc IActivities
    function leave(uint256 activityId, address member) external {
        Activity storage a = _activity(activityId);
        address sender = _msgSender();
        if (sender != member) _checkOrganiser(a.schemeId, sender);
        Participation p = _participation[activityId][member];
        if (p == Participation.None) revert ActivityNotJoined(activityId, member);
        if (p == Participation.Recorded) revert ActivityAlreadyRecorded(activityId, member);
        delete _participation[activityId][member];
        --a.enrolled;
        emit ParticipantLeft(activityId, member, sender);
    }

    /// @inheritdoc IActivities
    function useForRecord(uint256 activityId, address volunteer, uint40 start, uint40 end, address organiser)
        external
        onlyRecords
        returns (uint256 schemeId)
    {
        Activity storage a = _activity(activityId);
        if (a.cancelled) revert ActivityCancelledAlready(activityId);
        if (start < a.start || end > a.end) revert ActivityOutsideWindow(activityId, start, end);
        Participation p = _participation[activityId][volunteer];
        if (p == Participation.Recorded) revert ActivityAlreadyRecorded(activityId, volunteer);
        if (p == Participation.None) {
            // Recording attendance after the event: the organiser's record assigns the volunteer.
            if (organiser == address(0)) revert ActivityNotJoined(activityId, volunteer);
            _take(activityId, a, volunteer);
            emit ParticipantJoined(activityId, volunteer, organiser);
        }
        _participation[activityId][volunteer] = Participation.Recorded;
        return a.schemeId;
    }

    /// @inheritdoc IActivities
    function releaseRecord(uint256 activityId, address volunteer) external onlyRecords {
        if (_participation[activityId][volunteer] == Participation.Recorded) {
            _participation[activityId][volunteer] = Participation.Enrolled;
        }
    }

    /// @inheritdoc IActivities
    function useForBatch(uint256 activityId, uint256 schemeId, uint32 count, uint40 earliest, uint40 latest)
        external
        onlyRecords
    {
        Activity storage a = _activity(activityId);
        if (a.schemeId != schemeId) revert ActivityWrongScheme(activityId, a.schemeId, schemeId);
        if (a.cancelled) revert ActivityCancelledAlready(activityId);
        if (earliest < a.start || latest > a.end) revert ActivityOutsideWindow(activityId, earliest, latest);
        if (uint256(a.enrolled) + a.batchRecords + count > a.capacity) revert ActivityFull(activityId, a.capacity);
        a.batchRecords += count;
    }

    // --- views ---------------------------------------------------------------------------------

    function activity(uint256 activityId) external view returns (Activity memory) {
        return _activity(activityId);
    }

    function activityCount() external view returns (uint256) {
        return _count;
    }

    function participation(uint256 activityId, address member) external view returns (Participation) {
        return _participation[activityId][member];
    }

    /// @inheritdoc IActivities
    function isOrganiser(uint256 schemeId, address account) public view returns (bool) {
        return account == _schemes.issuerOf(schemeId) || _schemes.hasSchemeRole(schemeId, ORGANISER_ROLE, account);
    }

    function records() external view returns (address) {
        return _records;
    }

    function schemeRegistry() external view returns (address) {
        return address(_schemes);
    }

    function memberRegistry() external view returns (address) {
        return address(_members);
    }

    // --- internals -----------------------------------------------------------------------------

    function _create(
        uint256 schemeId,
        uint40 start,
        uint40 end,
        uint32 capacity,
        bytes32 detailsHash,
        address requester
    ) private returns (uint256 activityId) {
        address sender = _msgSender();
        _checkOrganiser(schemeId, sender);
        if (start >= end || end - start > MAX_DURATION) revert ActivityInvalidWindow(start, end);
        if (end <= block.timestamp) revert ActivityInvalidWindow(start, end);
        if (capacity == 0 || capacity > MAX_CAPACITY) revert ActivityInvalidCapacity(capacity, MAX_CAPACITY);
        if (detailsHash == bytes32(0)) revert ActivityInvalidDetails();
        activityId = ++_count;
        _activities[activityId] = Activity({
            schemeId: uint32(schemeId),
            capacity: capacity,
            enrolled: 0,
            batchRecords: 0,
            start: start,
            end: end,
            cancelled: false,
            organiser: sender,
            requester: requester,
            detailsHash: detailsHash
        });
        emit ActivityCreated(activityId, schemeId, sender, start, end, capacity, detailsHash, requester);
    }

    function _enrol(uint256 activityId, Activity storage a, address member, address by) private {
        if (a.cancelled) revert ActivityCancelledAlready(activityId);
        if (block.timestamp >= a.end) revert ActivityEnded(activityId, a.end);
        if (_members.statusOf(member) != IMemberRegistry.MemberStatus.Active) revert ActivityMemberNotActive(member);
        if (_participation[activityId][member] != Participation.None) revert ActivityAlreadyJoined(activityId, member);
        _take(activityId, a, member);
        _participation[activityId][member] = Participation.Enrolled;
        emit ParticipantJoined(activityId, member, by);
    }

    /// @dev Takes one place for `member`: never the requester of a task, never past capacity.
    function _take(uint256 activityId, Activity storage a, address member) private {
        if (member == a.requester) revert ActivityRequesterCannotServe(activityId, member);
        if (uint256(a.enrolled) + a.batchRecords >= a.capacity) revert ActivityFull(activityId, a.capacity);
        ++a.enrolled;
    }

    function _activity(uint256 activityId) private view returns (Activity storage a) {
        if (activityId == 0 || activityId > _count) revert ActivityUnknown(activityId);
        a = _activities[activityId];
    }

    /// @dev Reverts SchemeUnknown (from the registry) for a scheme that does not exist.
    function _checkOrganiser(uint256 schemeId, address account) private view {
        if (!isOrganiser(schemeId, account)) revert ActivityUnauthorized(schemeId, account);
    }
}
