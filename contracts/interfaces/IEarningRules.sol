// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IEarningRules
/// @notice How a scheme values service, in versions that never change once published: a record is
/// valued by the version in force when it is approved.
/// - Duration rules (Wuhan 一事一评): points = minutes x points per hour x the coefficient of the
///   rating grade / (60 x 1000), rounded down; the fraction of a point is not paid.
/// - Fixed-point rules (江城小蜜蜂): a table of action types and the points each earns.
interface IEarningRules {
    enum RuleKind {
        None,
        Duration,
        Fixed
    }

    /// @notice Grade coefficients are in thousandths: 1200 means x1.2. Grade 0 is "A", 1 is "B", ...
    event DurationRulePublished(
        uint256 indexed schemeId,
        uint256 indexed version,
        uint32 pointsPerHour,
        uint16[] gradeCoefficients,
        address indexed by
    );
    event FixedRulePublished(
        uint256 indexed schemeId, uint256 indexed version, bytes32[] actions, uint64[] points, address indexed by
    );

    error RulesUnauthorizedIssuer(uint256 schemeId, address account);
    error RulesInvalidRate(uint32 pointsPerHour);
    error RulesInvalidGrades(uint256 count, uint256 maxGrades);
    error RulesInvalidCoefficient(uint256 grade, uint16 coefficient);
    error RulesInvalidActions(uint256 actions, uint256 points, uint256 maxActions);
    error RulesInvalidAction(bytes32 action);
    error RulesDuplicateAction(bytes32 action);
    error RulesInvalidPoints(bytes32 action, uint64 points);
    error RulesUnknownVersion(uint256 schemeId, uint256 version);
    error RulesWrongKind(uint256 schemeId, uint256 version, RuleKind kind);
    error RulesUnknownGrade(uint256 schemeId, uint256 version, uint8 grade);
    error RulesUnknownAction(uint256 schemeId, uint256 version, bytes32 action);
    error RulesKindFixed(uint256 schemeId, RuleKind kind);

    /// @notice Publishes a new duration rule version for a scheme (its issuer or the council).
    function publishDurationRule(uint256 schemeId, uint32 pointsPerHour, uint16[] calldata gradeCoefficients)
        external
        returns (uint256 version);

    /// @notice Publishes a new fixed-point rule version: each action type and its points.
    function publishFixedRule(uint256 schemeId, bytes32[] calldata actions, uint64[] calldata points)
        external
        returns (uint256 version);

    function currentVersion(uint256 schemeId) external view returns (uint256);
    /// @notice The version in force at `timestamp` (0 if none was published by then).
    function versionAt(uint256 schemeId, uint64 timestamp) external view returns (uint256);
    function publishedAt(uint256 schemeId, uint256 version) external view returns (uint64);
    function ruleKind(uint256 schemeId, uint256 version) external view returns (RuleKind);
    function durationRule(uint256 schemeId, uint256 version)
        external
        view
        returns (uint32 pointsPerHour, uint16[] memory gradeCoefficients);
    function fixedRule(uint256 schemeId, uint256 version)
        external
        view
        returns (bytes32[] memory actions, uint64[] memory points);

    /// @notice Points for `serviceMinutes` of service rated `grade` under a duration rule version.
    function durationPoints(uint256 schemeId, uint256 version, uint32 serviceMinutes, uint8 grade)
        external
        view
        returns (uint256);

    /// @notice Points for one `action` under a fixed-point rule version.
    function actionPoints(uint256 schemeId, uint256 version, bytes32 action) external view returns (uint256);
}
