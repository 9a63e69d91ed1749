// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title HeldLots
/// @notice How a spending contract keeps, with its record of a hold, the expiring lots the held
/// points came from (as IPointsLedger.hold returns them: expiry month | amount << 24), so that it
/// can give them back when it settles the hold. Nearly every hold comes from one lot or none: that
/// lot is kept in the record's own word; only a hold spanning several lots keeps a list.
library HeldLots {
    /// The packed value of a hold whose lots are in the list: a lot of no points, never a real one.
    uint256 internal constant LISTED = 1;

    /// @dev The packed value to keep in the record (0: no lots; a lot; LISTED: see `list[id]`).
    function keep(uint256[] memory lots, mapping(uint256 => uint256[]) storage list, uint256 id)
        internal
        returns (uint256)
    {
        if (lots.length == 0) return 0;
        if (lots.length == 1) return lots[0];
        list[id] = lots;
        return LISTED;
    }

    /// @dev The lots a record's packed value stands for.
    function load(uint256 packed, mapping(uint256 => uint256[]) storage list, uint256 id)
        internal
        view
        returns (uint256[] memory lots)
    {
        if (packed == LISTED) return list[id];
        if (packed != 0) {
            lots = new uint256[](1);
            lots[0] = packed;
        }
    }
}
