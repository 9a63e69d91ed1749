// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title SchemeRegistry
/// @notice The point schemes of the city and who works for each: admitted, revalued and re-quota'd
/// only by the council; staffed by each scheme's issuer.
/// @dev Every spending operation reads a scheme's terms, often from several contracts in one
/// transaction, so what it needs is packed: `policyTerms` reads one storage word, `spendingTerms`
/// two (with the value), `ledgerTerms` adds the quota's word. Layouts, from the low bits:
/// - `_registry`: scheme count (64) | every scheme paused (8).
/// - `_terms[id]`: policy max balance (88) | expiry months (16) | supply limit (128) | flags (16) |
///   state (8: known, paused on its own, paused with every scheme): the only copy of the policy
///   and the flags, the unknown-id check and both pauses in one read. Pausing every scheme sets
///   the bit on each scheme's word (at most MAX_SCHEMES writes, an emergency's cost).
/// - `_values[id]`: value (64) | its from-block (64) | next value (64) | its from-block (64, 0: none):
///   the value in force and a scheduled change; the next value is in force from its block on, and
///   becomes the first pair when a later change is set. `_valueChanges[id]` keeps every change for
///   blocks before the first pair's.
/// - `_schemes[id]`: code; issuer (160) | created at (64); quota (128) | quota period (64); name;
///   unit. The returned `Scheme` takes its flags from `_terms` and its value from `_values`.
contract SchemeRegistry is ISchemeRegistry, Governed {
    bytes32 public constant REVIEWER_ROLE = keccak256("REVIEWER_ROLE");
    bytes32 public constant MERCHANT_ROLE = keccak256("MERCHANT_ROLE");
    bytes32 public constant ORGANISER_ROLE = keccak256("ORGANISER_ROLE");
    /// @notice May pause (not resume) at once in an emergency; resuming is a council action.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice The id `pause` takes to stop every scheme.
    uint256 public constant PAUSED_ALL = 0;
    uint16 public constant MAX_EXPIRY_MONTHS = 1200;

    uint32 public constant FLAG_EXCHANGE_OUT = 1;
    uint32 public constant FLAG_EXCHANGE_IN = 2;
    uint32 public constant FLAG_GIFTS = 4;
    uint32 public constant FLAG_REDEMPTION = 8;
    uint32 public constant FLAG_TIME_BANK = 16;
    uint32 public constant FLAGS_ALL = 31;

    uint8 public constant VALUE_DECIMALS = 3;
    uint256 public constant MAX_SCHEMES = 1024;
    uint256 public constant MAX_CODE_LENGTH = 16;
    uint256 public constant MAX_TEXT_LENGTH = 96;

    /// A scheme as stored: what `Scheme` holds but its flags and value (see the layouts above).
    struct StoredScheme {
        bytes32 code;
        address issuer;
        uint64 createdAt;
        uint128 quota;
        uint64 quotaPeriod;
        string name;
        string unit;
    }

    /// What spending needs of a scheme but its value, in one word, so that `policyTerms` is one
    /// storage read: `state` holds KNOWN, PAUSED (this scheme) and PAUSED_EVERY (every scheme:
    /// set on each scheme's word by `pause(PAUSED_ALL)`, and on a scheme added while it holds).
    struct StoredTerms {
        uint88 maxBalance;
        uint16 expiryMonths;
        uint128 supplyLimit;
        uint16 flags;
        uint8 state;
    }

    uint8 private constant KNOWN = 1;
    uint8 private constant PAUSED = 2;
    uint8 private constant PAUSED_EVERY = 4;

    /// The value in force and a scheduled change, in one word.
    struct StoredValue {
        uint64 unitValue;
        uint64 fromBlock;
        uint64 nextValue;
        uint64 nextFromBlock;
    }

    /// The scheme count and the pause of every scheme, in one word.
    struct Registry {
        uint64 count;
        bool pausedAll;
    }

    Registry private _registry;
    mapping(uint256 schemeId => StoredScheme) private _schemes;
    mapping(uint256 schemeId => StoredTerms) private _terms;
    mapping(uint256 schemeId => StoredValue) private _values;
    mapping(uint256 schemeId => ValueChange[]) private _valueChanges;
    mapping(bytes32 code => uint256 schemeId) private _ids;
    mapping(uint256 schemeId => mapping(bytes32 role => mapping(address account => bool))) private _schemeRoles;

    modifier known(uint256 schemeId) {
        _known(schemeId);
        _;
    }

    constructor(address admin, address forwarder) Governed(admin, forwarder) {}

    /// @inheritdoc ISchemeRegistry
    /// @dev Scheme ids count from 1 and are the ERC-1155 token ids of the points ledger.
    function addScheme(
        bytes32 code,
        string calldata name,
        string calldata unit,
        address issuer,
        uint64 unitValue,
        uint256 quota,
        uint64 quotaPeriod,
        uint32 flags
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 schemeId) {
        _checkCode(code);
        if (_ids[code] != 0) revert SchemeCodeInUse(code, _ids[code]);
        Registry memory registry = _registry;
        if (registry.count >= MAX_SCHEMES) revert SchemeTooMany(MAX_SCHEMES);
        _checkText(name);
        _checkText(unit);
        if (issuer == address(0)) revert SchemeInvalidIssuer(issuer);
        _checkValue(unitValue);
        _checkQuota(quota, quotaPeriod);
        _checkFlags(flags);

        schemeId = ++registry.count;
        _registry = registry;
        _ids[code] = schemeId;
        _schemes[schemeId] = StoredScheme({
            code: code,
            issuer: issuer,
            createdAt: uint64(block.timestamp),
            quota: uint128(quota),
            quotaPeriod: quotaPeriod,
            name: name,
            unit: unit
        });
        _terms[schemeId] = StoredTerms({
            maxBalance: 0,
            expiryMonths: 0,
            supplyLimit: 0,
            flags: uint16(flags),
            state: registry.pausedAll ? KNOWN | PAUSED_EVERY : KNOWN
        });
        _values[schemeId] = StoredValue(unitValue, uint64(block.number), 0, 0);
        _valueChanges[schemeId].push(ValueChange(uint64(block.number), unitValue));
        emit SchemeAdded(schemeId, code, issuer, name, unit, unitValue, quota, quotaPeriod, flags);
    }

    /// @notice Hands a scheme to another issuer (a council action).
    function setIssuer(uint256 schemeId, address issuer) external onlyRole(DEFAULT_ADMIN_ROLE) known(schemeId) {
        if (issuer == address(0)) revert SchemeInvalidIssuer(issuer);
        emit SchemeIssuerChanged(schemeId, _schemes[schemeId].issuer, issuer);
        _schemes[schemeId].issuer = issuer;
    }

    /// @notice Changes a scheme's issuance quota and period (a council action); applies to the current period.
    function setQuota(uint256 schemeId, uint256 quota, uint64 quotaPeriod)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        known(schemeId)
    {
        _checkQuota(quota, quotaPeriod);
        _schemes[schemeId].quota = uint128(quota);
        _schemes[schemeId].quotaPeriod = quotaPeriod;
        emit SchemeQuotaChanged(schemeId, quota, quotaPeriod);
    }

    /// @inheritdoc ISchemeRegistry
    /// @dev Never retroactive: exchanges quoted and made before `fromBlock` keep the old value. A
    /// scheduled change already in force becomes the value in force of the packed word; one still
    /// pending is dropped from it and from the history.
    function setUnitValue(uint256 schemeId, uint64 unitValue, uint64 fromBlock)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        known(schemeId)
    {
        _checkValue(unitValue);
        if (fromBlock <= block.number) revert SchemeValueNotAhead(fromBlock, block.number);
        StoredValue memory v = _values[schemeId];
        if (v.nextFromBlock > block.number) {
            _valueChanges[schemeId].pop();
        } else if (v.nextFromBlock != 0) {
            (v.unitValue, v.fromBlock) = (v.nextValue, v.nextFromBlock);
        }
        uint64 previous = v.unitValue;
        (v.nextValue, v.nextFromBlock) = (unitValue, fromBlock);
        _values[schemeId] = v;
        _valueChanges[schemeId].push(ValueChange(fromBlock, unitValue));
        emit SchemeValueChanged(schemeId, previous, unitValue, fromBlock);
    }

    /// @notice Changes what members may do with a scheme's points (a council action).
    function setFlags(uint256 schemeId, uint32 flags) external onlyRole(DEFAULT_ADMIN_ROLE) known(schemeId) {
        _checkFlags(flags);
        StoredTerms storage terms = _terms[schemeId];
        emit SchemeFlagsChanged(schemeId, terms.flags, flags);
        terms.flags = uint16(flags);
    }

    /// @inheritdoc ISchemeRegistry
    function grantSchemeRole(uint256 schemeId, bytes32 role, address account) external known(schemeId) {
        _checkStaffChange(schemeId, role, account);
        if (!_schemeRoles[schemeId][role][account]) {
            _schemeRoles[schemeId][role][account] = true;
            emit SchemeRoleGranted(schemeId, role, account, _msgSender());
        }
    }

    /// @inheritdoc ISchemeRegistry
    function revokeSchemeRole(uint256 schemeId, bytes32 role, address account) external known(schemeId) {
        _checkStaffChange(schemeId, role, account);
        if (_schemeRoles[schemeId][role][account]) {
            _schemeRoles[schemeId][role][account] = false;
            emit SchemeRoleRevoked(schemeId, role, account, _msgSender());
        }
    }

    /// @inheritdoc ISchemeRegistry
    /// @dev A new expiry applies to points created from now; a lower maximum refuses new credits only.
    function setPolicy(uint256 schemeId, Policy calldata policy) external onlyRole(DEFAULT_ADMIN_ROLE) known(schemeId) {
        if (policy.expiryMonths > MAX_EXPIRY_MONTHS) revert SchemeInvalidPolicy();
        StoredTerms memory terms = _terms[schemeId];
        (terms.maxBalance, terms.expiryMonths, terms.supplyLimit) =
            (policy.maxBalance, policy.expiryMonths, policy.supplyLimit);
        _terms[schemeId] = terms;
        emit PolicyChanged(schemeId, policy.maxBalance, policy.expiryMonths, policy.supplyLimit);
    }

    /// @inheritdoc ISchemeRegistry
    function pause(uint256 schemeId) external {
        address sender = _msgSender();
        if (!hasRole(PAUSER_ROLE, sender) && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert AccessControlUnauthorizedAccount(sender, PAUSER_ROLE);
        }
        if (schemeId == PAUSED_ALL) {
            if (_registry.pausedAll) revert SchemeAlreadyPaused(schemeId);
            _registry.pausedAll = true;
            _setEvery(PAUSED_EVERY, true);
        } else {
            _known(schemeId);
            StoredTerms storage terms = _terms[schemeId];
            if (terms.state & PAUSED != 0) revert SchemeAlreadyPaused(schemeId);
            terms.state |= PAUSED;
        }
        emit Paused(schemeId, sender);
    }

    /// @inheritdoc ISchemeRegistry
    function unpause(uint256 schemeId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (schemeId == PAUSED_ALL) {
            if (!_registry.pausedAll) revert SchemeNotPaused(schemeId);
            _registry.pausedAll = false;
            _setEvery(PAUSED_EVERY, false);
        } else {
            StoredTerms storage terms = _terms[schemeId];
            if (terms.state & PAUSED == 0) revert SchemeNotPaused(schemeId);
            terms.state &= ~PAUSED;
        }
        emit Unpaused(schemeId, _msgSender());
    }

    // --- views ---------------------------------------------------------------------------------

    /// @notice A scheme, with the value in force now.
    function scheme(uint256 schemeId) external view known(schemeId) returns (Scheme memory) {
        StoredScheme storage s = _schemes[schemeId];
        return Scheme({
            code: s.code,
            issuer: s.issuer,
            unitValue: _valueAt(schemeId, block.number),
            quotaPeriod: s.quotaPeriod,
            flags: _terms[schemeId].flags,
            createdAt: s.createdAt,
            quota: s.quota,
            name: s.name,
            unit: s.unit
        });
    }

    /// @inheritdoc ISchemeRegistry
    /// @dev One storage read for a block from the value in force on (the current block's value
    /// included); the history of changes for earlier ones.
    function unitValueAt(uint256 schemeId, uint256 blockNumber) external view known(schemeId) returns (uint64) {
        return _valueAt(schemeId, blockNumber);
    }

    function valueChanges(uint256 schemeId) external view known(schemeId) returns (ValueChange[] memory) {
        return _valueChanges[schemeId];
    }

    /// @inheritdoc ISchemeRegistry
    function ledgerTerms(uint256 schemeId) external view returns (LedgerTerms memory t) {
        (StoredTerms memory terms, uint256 paused) = _spending(schemeId);
        StoredScheme storage s = _schemes[schemeId];
        t.quota = s.quota;
        t.quotaPeriod = s.quotaPeriod;
        t.flags = terms.flags;
        t.paused = paused;
        t.policy = _policy(terms);
    }

    /// @inheritdoc ISchemeRegistry
    /// @dev Two storage reads: `_terms[id]` and `_values[id]`.
    function spendingTerms(uint256 schemeId) external view returns (SpendingTerms memory t) {
        (StoredTerms memory terms, uint256 paused) = _spending(schemeId);
        t.unitValue = _valueAt(schemeId, block.number);
        t.flags = terms.flags;
        t.paused = paused;
        t.policy = _policy(terms);
    }

    /// @inheritdoc ISchemeRegistry
    /// @dev One storage read: `_terms[id]`.
    function policyTerms(uint256 schemeId) external view returns (PolicyTerms memory t) {
        (StoredTerms memory terms, uint256 paused) = _spending(schemeId);
        t.flags = terms.flags;
        t.paused = paused;
        t.policy = _policy(terms);
    }

    function policyOf(uint256 schemeId) external view known(schemeId) returns (Policy memory) {
        return _policy(_terms[schemeId]);
    }

    /// @notice Whether a scheme's points are stopped (by its own pause or every scheme's);
    /// `isPaused(0)`: whether every scheme is.
    function isPaused(uint256 schemeId) external view returns (bool) {
        return _registry.pausedAll || _terms[schemeId].state & PAUSED != 0;
    }

    /// @notice The id of a scheme code; reverts for an unknown code.
    function schemeIdOf(bytes32 code) external view returns (uint256 schemeId) {
        schemeId = _ids[code];
        if (schemeId == 0) revert SchemeUnknownCode(code);
    }

    function schemeCount() external view returns (uint256) {
        return _registry.count;
    }

    function exists(uint256 schemeId) external view returns (bool) {
        return schemeId != 0 && schemeId <= _registry.count;
    }

    function issuerOf(uint256 schemeId) external view known(schemeId) returns (address) {
        return _schemes[schemeId].issuer;
    }

    function hasSchemeRole(uint256 schemeId, bytes32 role, address account) external view returns (bool) {
        return _schemeRoles[schemeId][role][account];
    }

    // --- packed words --------------------------------------------------------------------------

    /// @dev Reverts for an unknown scheme.
    function _known(uint256 schemeId) private view {
        if (schemeId == 0 || schemeId > _registry.count) revert SchemeUnknown(schemeId);
    }

    /// @dev A scheme's terms word and its pause as `LedgerTerms.paused`; reverts for an unknown one.
    function _spending(uint256 schemeId) private view returns (StoredTerms memory terms, uint256 paused) {
        terms = _terms[schemeId];
        uint8 state = terms.state;
        if (state & KNOWN == 0) revert SchemeUnknown(schemeId);
        if (state & PAUSED_EVERY != 0) paused = type(uint256).max;
        else if (state & PAUSED != 0) paused = schemeId;
    }

    /// @dev Sets or clears `bit` in every scheme's terms word.
    function _setEvery(uint8 bit, bool on) private {
        uint256 count = _registry.count;
        for (uint256 id = 1; id <= count; ++id) {
            StoredTerms storage terms = _terms[id];
            terms.state = on ? terms.state | bit : terms.state & ~bit;
        }
    }

    function _valueAt(uint256 schemeId, uint256 blockNumber) private view returns (uint64) {
        StoredValue memory v = _values[schemeId];
        if (v.nextFromBlock != 0 && blockNumber >= v.nextFromBlock) return v.nextValue;
        if (blockNumber >= v.fromBlock) return v.unitValue;
        // The history ends with the change of the first pair and the scheduled one, both after
        // `blockNumber`: the answer is in an earlier change (or 0, before the scheme).
        ValueChange[] storage changes = _valueChanges[schemeId];
        for (uint256 i = changes.length - (v.nextFromBlock != 0 ? 2 : 1); i > 0; --i) {
            ValueChange memory change = changes[i - 1];
            if (change.fromBlock <= blockNumber) return change.unitValue;
        }
        return 0;
    }

    function _policy(StoredTerms memory terms) private pure returns (Policy memory) {
        return Policy(terms.maxBalance, terms.expiryMonths, terms.supplyLimit);
    }

    // --- checks --------------------------------------------------------------------------------

    function _checkStaffChange(uint256 schemeId, bytes32 role, address account) private view {
        address sender = _msgSender();
        if (sender != _schemes[schemeId].issuer && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert SchemeUnauthorizedIssuer(schemeId, sender);
        }
        if (role != REVIEWER_ROLE && role != MERCHANT_ROLE && role != ORGANISER_ROLE) revert SchemeInvalidRole(role);
        if (account == address(0)) revert SchemeInvalidAccount(account);
    }

    /// @dev A code is 1-16 characters of A-Z, 0-9, '-' or '_', starting with a letter (so it is never
    /// mistaken for a scheme id), left-aligned and zero-padded.
    function _checkCode(bytes32 code) private pure {
        uint256 length = 0;
        while (length < 32 && code[length] != 0) ++length;
        if (length == 0 || length > MAX_CODE_LENGTH || code[0] < "A" || code[0] > "Z") revert SchemeInvalidCode(code);
        for (uint256 i = 0; i < 32; ++i) {
            bytes1 c = code[i];
            bool ok = i < length
                ? ((c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_")
                : c == 0;
            if (!ok) revert SchemeInvalidCode(code);
        }
    }

    function _checkText(string calldata text) private pure {
        uint256 length = bytes(text).length;
        if (length == 0 || length > MAX_TEXT_LENGTH) revert SchemeInvalidName();
    }

    function _checkValue(uint64 unitValue) private pure {
        if (unitValue == 0) revert SchemeInvalidValue(unitValue);
    }

    function _checkQuota(uint256 quota, uint64 quotaPeriod) private pure {
        if (quota == 0 || quota > type(uint128).max || quotaPeriod < 1 hours) {
            revert SchemeInvalidQuota(quota, quotaPeriod);
        }
    }

    function _checkFlags(uint32 flags) private pure {
        if (flags & ~FLAGS_ALL != 0) revert SchemeInvalidFlags(flags);
    }
}
