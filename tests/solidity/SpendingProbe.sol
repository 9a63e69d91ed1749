// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The ledger's spending entry points, as the probe calls them.
interface ISpendingLedger {
    /// IPointsLedger.Hold
    struct Hold {
        uint256 schemeId;
        address owner;
        uint256 amount;
        bytes32 ref;
        uint256[] lots;
    }

    function convert(uint256 fromScheme, uint256 toScheme, address member, uint256 used, uint256 out, bytes32 ref)
        external;
    function move(uint256 schemeId, address from, address to, uint256 amount, bytes32 ref) external;
    function hold(uint256 schemeId, address owner, uint256 amount, bytes32 ref) external returns (uint256[] memory);
    function settleHold(Hold calldata held, address payee, uint256 toPayee, uint256 toBurn) external;
}

/// @title SpendingProbe (tests only; never deployed by `vpl deploy`)
/// @notice Stands in for a contract holding SPENDING_ROLE (the role is refused to plain keys), so
/// the points ledger's spending primitives can be tested without an exchange, catalogue or time
/// bank in front of them. Only the key that deployed it can use it; the ledger's revert data is
/// passed through unchanged.
contract SpendingProbe {
    address public immutable owner;
    ISpendingLedger public immutable ledger;

    error ProbeNotOwner(address caller);

    /// What a hold the probe placed came from, for the test to give back when it settles it.
    event ProbeHeld(bytes32 ref, uint256[] lots);

    constructor(ISpendingLedger ledger_) {
        owner = msg.sender;
        ledger = ledger_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert ProbeNotOwner(msg.sender);
        _;
    }

    function convert(uint256 fromScheme, uint256 toScheme, address member, uint256 used, uint256 out, bytes32 ref)
        external
        onlyOwner
    {
        ledger.convert(fromScheme, toScheme, member, used, out, ref);
    }

    function move(uint256 schemeId, address from, address to, uint256 amount, bytes32 ref) external onlyOwner {
        ledger.move(schemeId, from, to, amount, ref);
    }

    function hold(uint256 schemeId, address owner_, uint256 amount, bytes32 ref)
        external
        onlyOwner
        returns (uint256[] memory lots)
    {
        lots = ledger.hold(schemeId, owner_, amount, ref);
        emit ProbeHeld(ref, lots);
    }

    /// The probe keeps no record of its holds: the test gives back each hold as it was placed
    /// (or not, to see the ledger refuse).
    function settleHold(ISpendingLedger.Hold calldata held, address payee, uint256 toPayee, uint256 toBurn)
        external
        onlyOwner
    {
        ledger.settleHold(held, payee, toPayee, toBurn);
    }
}
