// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ServiceTime
/// @notice Calendar arithmetic for service records: days and weeks of China Standard Time (UTC+8),
/// weeks from Monday, and working days (Monday to Friday).
/// @dev Public holidays and China's swapped working weekends (调休) are not known on chain; issuers
/// set their late-entry allowance with that in mind.
library ServiceTime {
    uint256 internal constant TIME_ZONE_OFFSET = 8 hours;

    /// @notice The day number (China Standard Time) of a Unix time.
    function dayOf(uint256 timestamp) internal pure returns (uint256) {
        return (timestamp + TIME_ZONE_OFFSET) / 1 days;
    }

    /// @notice The week number (weeks from Monday) of a day number; day 0 was a Thursday.
    function weekOf(uint256 day) internal pure returns (uint256) {
        return (day + 3) / 7;
    }

    /// @notice Working days after day `from` up to and including day `to` (0 if `to` <= `from`).
    function workingDaysBetween(uint256 from, uint256 to) internal pure returns (uint256) {
        if (to <= from) return 0;
        return _weekdaysBefore(to + 1) - _weekdaysBefore(from + 1);
    }

    /// @dev Weekdays among days [0, day), counted in Monday-aligned weeks.
    function _weekdaysBefore(uint256 day) private pure returns (uint256) {
        uint256 e = day + 3;
        uint256 rest = e % 7;
        return 5 * (e / 7) + (rest < 5 ? rest : 5) - 3;
    }
}
