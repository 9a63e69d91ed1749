// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IActivities
/// @notice Activities (活动) and tasks that an issuer's organisers publish and members join: each has a
/// scheme, a time window and a capacity, which the chain enforces. A task is an activity for one
/// helper made from a resident's request for help (群众点单、社区派单). Names, places and contents stay
/// in the off-chain store; the chain holds their hash.
interface IActivities {
    struct Activity {
        uint32 schemeId;
        uint32 capacity;
        /// Members signed up or assigned.
        uint32 enrolled;
        /// Places taken by records approved in batches (which name no enrolment).
        uint32 batchRecords;
        uint40 start;
        uint40 end;
        bool cancelled;
        address organiser;
        /// The resident whose request this task answers; zero for an ordinary activity.
        address requester;
        bytes32 detailsHash;
    }

    enum Participation {
        None,
        Enrolled,
        Recorded
    }

    event ActivityCreated(
        uint256 indexed activityId,
        uint256 indexed schemeId,
        address indexed organiser,
        uint40 start,
        uint40 end,
        uint32 capacity,
        bytes32 detailsHash,
        address requester
    );
    event ActivityCancelled(uint256 indexed activityId, address indexed by, uint16 reason);
    event ParticipantJoined(uint256 indexed activityId, address indexed member, address indexed by);
    event ParticipantLeft(uint256 indexed activityId, address indexed member, address indexed by);
    event RecordsLinked(address indexed records);

    error ActivityUnknown(uint256 activityId);
    error ActivityUnauthorized(uint256 schemeId, address account);
    error ActivityInvalidWindow(uint40 start, uint40 end);
    error ActivityInvalidCapacity(uint32 capacity, uint32 maxCapacity);
    error ActivityInvalidDetails();
    error ActivityInvalidReason(uint16 reason);
    error ActivityCancelledAlready(uint256 activityId);
    error ActivityEnded(uint256 activityId, uint40 end);
    error ActivityFull(uint256 activityId, uint32 capacity);
    error ActivityAlreadyJoined(uint256 activityId, address member);
    error ActivityNotJoined(uint256 activityId, address member);
    error ActivityAlreadyRecorded(uint256 activityId, address member);
    error ActivityRequesterCannotServe(uint256 activityId, address member);
    error ActivityMemberNotActive(address member);
    error ActivityOutsideWindow(uint256 activityId, uint40 start, uint40 end);
    error ActivityWrongScheme(uint256 activityId, uint256 schemeId, uint256 expected);
    error ActivityCallerNotRecords(address caller);
    error ActivityRecordsAlreadyLinked(address records);

    /// @notice Publishes an activity of `schemeId` (its organiser or issuer).
    function createActivity(uint256 schemeId, uint40 start, uint40 end, uint32 capacity, bytes32 detailsHash)
        external
        returns (uint256 activityId);

    /// @notice Turns a resident's request for help into a task for one helper.
    function createTask(uint256 schemeId, address requester, uint40 start, uint40 end, bytes32 detailsHash)
        external
        returns (uint256 activityId);

    /// @notice Cancels an activity; records already submitted against it stay reviewable.
    function cancelActivity(uint256 activityId, uint16 reason) external;

    /// @notice The caller, an active member, signs up.
    function signUp(uint256 activityId) external;

    /// @notice An organiser assigns a member (派单).
    function assign(uint256 activityId, address member) external;

    /// @notice A participant leaves (or an organiser removes them) before any record is made.
    function leave(uint256 activityId, address member) external;

    /// @notice Service records use a participant's place for a record; only the records contract.
    /// @dev A record made by an organiser (`organiser` non-zero) for a member who has not joined
    /// assigns them on the way, if a place is free.
    function useForRecord(uint256 activityId, address volunteer, uint40 start, uint40 end, address organiser)
        external
        returns (uint256 schemeId);

    /// @notice Frees a place used by a record that was rejected; only the records contract.
    function releaseRecord(uint256 activityId, address volunteer) external;

    /// @notice Takes `count` places for records approved in a batch; only the records contract.
    function useForBatch(uint256 activityId, uint256 schemeId, uint32 count, uint40 earliest, uint40 latest) external;

    function activity(uint256 activityId) external view returns (Activity memory);
    function activityCount() external view returns (uint256);
    function participation(uint256 activityId, address member) external view returns (Participation);
    function isOrganiser(uint256 schemeId, address account) external view returns (bool);
}
