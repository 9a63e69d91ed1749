// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title BatchRecords
/// @notice The packed layout of service records in a batch (IServiceRecords), read in place from
/// calldata: volunteer (20 bytes), activity id (4, 0 for none), start (5), end (5), grade or
/// action index (1), details hash (32), evidence hash (32); numbers big-endian.
library BatchRecords {
    uint256 internal constant RECORD_SIZE = 99;

    /// @notice The figures of record `i` (its hashes are only committed to, never read), with two
    /// calldata loads.
    function read(bytes calldata records, uint256 i)
        internal
        pure
        returns (address volunteer, uint32 activityId, uint40 start, uint40 end, uint8 code)
    {
        uint256 w1;
        uint256 w2;
        assembly ("memory-safe") {
            let p := add(records.offset, mul(i, RECORD_SIZE))
            w1 := calldataload(p)
            w2 := calldataload(add(p, 32))
        }
        volunteer = address(uint160(w1 >> 96));
        activityId = uint32(w1 >> 64);
        start = uint40(w1 >> 24);
        end = uint40(((w1 & 0xffffff) << 16) | (w2 >> 240));
        code = uint8(w2 >> 232);
    }
}
