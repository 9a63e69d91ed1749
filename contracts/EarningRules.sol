// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {IEarningRules} from "./interfaces/IEarningRules.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title EarningRules
/// @notice Each scheme's rules for valuing service, versioned and immutable once published.
/// @dev A scheme's issuer publishes its own rules (the council may too); versions count from 1.
/// A version takes effect in the block that publishes it and records that time, so the version in
/// force at any moment can be read back; a scheme keeps the kind (duration or fixed) of its first
/// rule, so records submitted under one rule can always be valued under the next.
contract EarningRules is IEarningRules, Governed {
    uint256 public constant MAX_GRADES = 8;
    uint256 public constant MAX_ACTIONS = 64;
    /// Coefficients are thousandths; at most x10.
    uint16 public constant MAX_COEFFICIENT = 10_000;
    uint32 public constant MAX_POINTS_PER_HOUR = 1_000_000;
    uint64 public constant MAX_ACTION_POINTS = 1_000_000_000;

    struct Rule {
        RuleKind kind;
        uint32 pointsPerHour;
        uint64 publishedAt;
        uint16[] grades;
        bytes32[] actions;
    }

    ISchemeRegistry private immutable _schemes;
    mapping(uint256 schemeId => uint256) private _current;
    mapping(uint256 schemeId => mapping(uint256 version => Rule)) private _rules;
    mapping(uint256 schemeId => mapping(uint256 version => mapping(bytes32 action => uint64))) private _points;

    constructor(address admin, address forwarder, ISchemeRegistry schemes) Governed(admin, forwarder) {
        _schemes = schemes;
    }

    /// @inheritdoc IEarningRules
    function publishDurationRule(uint256 schemeId, uint32 pointsPerHour, uint16[] calldata gradeCoefficients)
        external
        returns (uint256 version)
    {
        _checkIssuer(schemeId);
        _checkKind(schemeId, RuleKind.Duration);
        if (pointsPerHour == 0 || pointsPerHour > MAX_POINTS_PER_HOUR) revert RulesInvalidRate(pointsPerHour);
        if (gradeCoefficients.length == 0 || gradeCoefficients.length > MAX_GRADES) {
            revert RulesInvalidGrades(gradeCoefficients.length, MAX_GRADES);
        }
        for (uint256 i = 0; i < gradeCoefficients.length; ++i) {
            uint16 c = gradeCoefficients[i];
            if (c == 0 || c > MAX_COEFFICIENT) revert RulesInvalidCoefficient(i, c);
        }
        version = ++_current[schemeId];
        Rule storage r = _rules[schemeId][version];
        r.kind = RuleKind.Duration;
        r.publishedAt = uint64(block.timestamp);
        r.pointsPerHour = pointsPerHour;
        r.grades = gradeCoefficients;
        emit DurationRulePublished(schemeId, version, pointsPerHour, gradeCoefficients, _msgSender());
    }

    /// @inheritdoc IEarningRules
    function publishFixedRule(uint256 schemeId, bytes32[] calldata actions, uint64[] calldata points)
        external
        returns (uint256 version)
    {
        _checkIssuer(schemeId);
        _checkKind(schemeId, RuleKind.Fixed);
        if (actions.length == 0 || actions.length > MAX_ACTIONS || actions.length != points.length) {
            revert RulesInvalidActions(actions.length, points.length, MAX_ACTIONS);
        }
        version = ++_current[schemeId];
        Rule storage r = _rules[schemeId][version];
        r.kind = RuleKind.Fixed;
        r.publishedAt = uint64(block.timestamp);
        mapping(bytes32 => uint64) storage table = _points[schemeId][version];
        for (uint256 i = 0; i < actions.length; ++i) {
            bytes32 action = actions[i];
            _checkAction(action);
            if (table[action] != 0) revert RulesDuplicateAction(action);
            if (points[i] == 0 || points[i] > MAX_ACTION_POINTS) revert RulesInvalidPoints(action, points[i]);
            table[action] = points[i];
            r.actions.push(action);
        }
        emit FixedRulePublished(schemeId, version, actions, points, _msgSender());
    }

    // --- views ---------------------------------------------------------------------------------

    function currentVersion(uint256 schemeId) external view returns (uint256) {
        return _current[schemeId];
    }

    /// @inheritdoc IEarningRules
    /// @dev Binary search: publication times never decrease with the version.
    function versionAt(uint256 schemeId, uint64 timestamp) external view returns (uint256) {
        uint256 low = 0;
        uint256 high = _current[schemeId];
        while (low < high) {
            uint256 mid = (low + high + 1) / 2;
            if (_rules[schemeId][mid].publishedAt <= timestamp) low = mid;
            else high = mid - 1;
        }
        return low;
    }

    function publishedAt(uint256 schemeId, uint256 version) external view returns (uint64) {
        return _rule(schemeId, version).publishedAt;
    }

    function ruleKind(uint256 schemeId, uint256 version) external view returns (RuleKind) {
        return _rule(schemeId, version).kind;
    }

    function durationRule(uint256 schemeId, uint256 version)
        external
        view
        returns (uint32 pointsPerHour, uint16[] memory gradeCoefficients)
    {
        Rule storage r = _ruleOfKind(schemeId, version, RuleKind.Duration);
        return (r.pointsPerHour, r.grades);
    }

    function fixedRule(uint256 schemeId, uint256 version)
        external
        view
        returns (bytes32[] memory actions, uint64[] memory points)
    {
        Rule storage r = _ruleOfKind(schemeId, version, RuleKind.Fixed);
        actions = r.actions;
        points = new uint64[](actions.length);
        for (uint256 i = 0; i < actions.length; ++i) {
            points[i] = _points[schemeId][version][actions[i]];
        }
    }

    /// @inheritdoc IEarningRules
    /// @dev Rounded down: minutes x points/hour x coefficient / 60,000. The remainder is not paid.
    function durationPoints(uint256 schemeId, uint256 version, uint32 serviceMinutes, uint8 grade)
        public
        view
        returns (uint256)
    {
        Rule storage r = _ruleOfKind(schemeId, version, RuleKind.Duration);
        if (grade >= r.grades.length) revert RulesUnknownGrade(schemeId, version, grade);
        return (uint256(serviceMinutes) * r.pointsPerHour * r.grades[grade]) / 60_000;
    }

    /// @inheritdoc IEarningRules
    function actionPoints(uint256 schemeId, uint256 version, bytes32 action) public view returns (uint256) {
        _ruleOfKind(schemeId, version, RuleKind.Fixed);
        uint64 points = _points[schemeId][version][action];
        if (points == 0) revert RulesUnknownAction(schemeId, version, action);
        return points;
    }

    function schemeRegistry() external view returns (address) {
        return address(_schemes);
    }

    // --- internals -----------------------------------------------------------------------------

    function _checkIssuer(uint256 schemeId) private view {
        address sender = _msgSender();
        if (sender != _schemes.issuerOf(schemeId) && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert RulesUnauthorizedIssuer(schemeId, sender);
        }
    }

    function _checkKind(uint256 schemeId, RuleKind kind) private view {
        uint256 current = _current[schemeId];
        if (current != 0 && _rules[schemeId][current].kind != kind) {
            revert RulesKindFixed(schemeId, _rules[schemeId][current].kind);
        }
    }

    function _rule(uint256 schemeId, uint256 version) private view returns (Rule storage r) {
        if (version == 0 || version > _current[schemeId]) revert RulesUnknownVersion(schemeId, version);
        r = _rules[schemeId][version];
    }

    function _ruleOfKind(uint256 schemeId, uint256 version, RuleKind kind) private view returns (Rule storage r) {
        r = _rule(schemeId, version);
        if (r.kind != kind) revert RulesWrongKind(schemeId, version, r.kind);
    }

    /// @dev An action code is 1-32 characters of a-z, 0-9, '_' or '-', left-aligned, zero-padded.
    function _checkAction(bytes32 action) private pure {
        uint256 length = 0;
        while (length < 32 && action[length] != 0) ++length;
        if (length == 0) revert RulesInvalidAction(action);
        for (uint256 i = 0; i < 32; ++i) {
            bytes1 c = action[i];
            bool ok = i < length ? ((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_" || c == "-") : c == 0;
            if (!ok) revert RulesInvalidAction(action);
        }
    }
}
