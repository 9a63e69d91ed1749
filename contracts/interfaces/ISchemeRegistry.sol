// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ISchemeRegistry
/// @notice Point schemes (积分体系): each one issuer's kind of points, its value in the city standard
/// unit, its issuance quota and what members may do with its points; and per-scheme staff roles.
interface ISchemeRegistry {
    struct Scheme {
        bytes32 code;
        address issuer;
        /// Value of one point in the city standard unit, in thousandths (VALUE_DECIMALS = 3).
        uint64 unitValue;
        /// Length of a quota period in seconds; periods are aligned to the Unix epoch.
        uint64 quotaPeriod;
        uint32 flags;
        uint64 createdAt;
        /// Most points the scheme may issue in one period.
        uint256 quota;
        string name;
        string unit;
    }

    event SchemeAdded(
        uint256 indexed schemeId,
        bytes32 indexed code,
        address indexed issuer,
        string name,
        string unit,
        uint64 unitValue,
        uint256 quota,
        uint64 quotaPeriod,
        uint32 flags
    );
    event SchemeIssuerChanged(uint256 indexed schemeId, address indexed previousIssuer, address indexed issuer);
    event SchemeQuotaChanged(uint256 indexed schemeId, uint256 quota, uint64 quotaPeriod);
    event SchemeValueChanged(uint256 indexed schemeId, uint64 previousValue, uint64 unitValue);
    event SchemeFlagsChanged(uint256 indexed schemeId, uint32 previousFlags, uint32 flags);
    event SchemeRoleGranted(uint256 indexed schemeId, bytes32 indexed role, address indexed account, address sender);
    event SchemeRoleRevoked(uint256 indexed schemeId, bytes32 indexed role, address indexed account, address sender);

    error SchemeUnknown(uint256 schemeId);
    error SchemeUnknownCode(bytes32 code);
    error SchemeCodeInUse(bytes32 code, uint256 schemeId);
    error SchemeInvalidCode(bytes32 code);
    error SchemeInvalidName();
    error SchemeInvalidIssuer(address issuer);
    error SchemeInvalidValue(uint64 unitValue);
    error SchemeInvalidQuota(uint256 quota, uint64 quotaPeriod);
    error SchemeInvalidFlags(uint32 flags);
    error SchemeInvalidRole(bytes32 role);
    error SchemeInvalidAccount(address account);
    error SchemeUnauthorizedIssuer(uint256 schemeId, address account);
    error SchemeTooMany(uint256 maxSchemes);

    /// @notice Admits a scheme and its issuer (a council action).
    function addScheme(
        bytes32 code,
        string calldata name,
        string calldata unit,
        address issuer,
        uint64 unitValue,
        uint256 quota,
        uint64 quotaPeriod,
        uint32 flags
    ) external returns (uint256 schemeId);

    function setIssuer(uint256 schemeId, address issuer) external;
    function setQuota(uint256 schemeId, uint256 quota, uint64 quotaPeriod) external;
    function setUnitValue(uint256 schemeId, uint64 unitValue) external;
    function setFlags(uint256 schemeId, uint32 flags) external;

    /// @notice The scheme's issuer (or the council) names its staff: reviewers, merchants, organisers.
    function grantSchemeRole(uint256 schemeId, bytes32 role, address account) external;
    function revokeSchemeRole(uint256 schemeId, bytes32 role, address account) external;

    function scheme(uint256 schemeId) external view returns (Scheme memory);
    function schemeIdOf(bytes32 code) external view returns (uint256);
    function schemeCount() external view returns (uint256);
    function exists(uint256 schemeId) external view returns (bool);
    function issuerOf(uint256 schemeId) external view returns (address);
    function hasSchemeRole(uint256 schemeId, bytes32 role, address account) external view returns (bool);
}
