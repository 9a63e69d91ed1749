// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The ledger's issuing entry point, as the probe calls it.
interface IIssuingLedger {
    function issue(address member, uint256 schemeId, uint256 amount, bytes32 source) external;
}

/// @title IssuerProbe (tests only; never deployed by `vpl deploy`)
/// @notice Stands in for a contract holding ISSUANCE_ROLE (the role is refused to plain keys), so
/// the points ledger's own rules can be tested without going through a service record. Only the
/// key that deployed it can use it; the ledger's revert data is passed through unchanged.
contract IssuerProbe {
    address public immutable owner;
    IIssuingLedger public immutable ledger;

    error ProbeNotOwner(address caller);

    constructor(IIssuingLedger ledger_) {
        owner = msg.sender;
        ledger = ledger_;
    }

    function issue(address member, uint256 schemeId, uint256 amount, bytes32 source) external {
        if (msg.sender != owner) revert ProbeNotOwner(msg.sender);
        ledger.issue(member, schemeId, amount, source);
    }
}
