// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ServiceTime
/// @notice Calendar arithmetic for service records and points: days, weeks and months of China
/// Standard Time (UTC+8), weeks from Monday, and working days (Monday to Friday).
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

    /// @dev The first day whose services are not late when submitted on `submittedDay` with at
    /// most `lateWorkingDays` working days between (`workingDaysBetween(day, submittedDay) >
    /// lateWorkingDays` exactly when `day` is earlier), so that a batch compares each record's
    /// day with one figure.
    function firstOnTimeDay(uint256 submittedDay, uint256 lateWorkingDays) internal pure returns (uint256) {
        // workingDaysBetween(day, submittedDay) > lateWorkingDays exactly when
        // _weekdaysBefore(day + 1) < _weekdaysBefore(submittedDay + 1) - lateWorkingDays. With
        // e = day + 4, _weekdaysBefore(day + 1) + 3 is 5 * (e / 7) + min(e % 7, 5), which stays
        // flat across each weekend: the least e that reaches the target is 7 * weeks + rest, or
        // the Friday before when the target falls on a week's start.
        uint256 target = _weekdaysBefore(submittedDay + 1) + 3;
        if (target <= lateWorkingDays) return 0;
        target -= lateWorkingDays;
        (uint256 weeks_, uint256 rest) = (target / 5, target % 5);
        uint256 e = rest == 0 && weeks_ != 0 ? 7 * weeks_ - 2 : 7 * weeks_ + rest;
        return e < 4 ? 0 : e - 4;
    }

    /// @notice The month number (China Standard Time) of a Unix time: months since January 1970.
    /// @dev The civil-from-days algorithm of Howard Hinnant's date library, for days >= 0.
    function monthOf(uint256 timestamp) internal pure returns (uint256) {
        unchecked {
            uint256 z = dayOf(timestamp) + 719_468;
            uint256 era = z / 146_097;
            uint256 doe = z - era * 146_097;
            uint256 yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            uint256 mp = (5 * doy + 2) / 153;
            uint256 year = yoe + era * 400 + (mp >= 10 ? 1 : 0);
            uint256 month = mp < 10 ? mp + 3 : mp - 9;
            return (year - 1970) * 12 + month - 1;
        }
    }

    /// @dev Weekdays among days [0, day), counted in Monday-aligned weeks.
    function _weekdaysBefore(uint256 day) private pure returns (uint256) {
        uint256 e = day + 3;
        uint256 rest = e % 7;
        return 5 * (e / 7) + (rest < 5 ? rest : 5) - 3;
    }
}
