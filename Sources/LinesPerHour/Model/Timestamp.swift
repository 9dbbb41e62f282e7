import Glibc

/// ISO-8601 UTC timestamps with milliseconds (`2026-11-25T03:41:08.123Z`), the
/// one text form every table and stream uses.
///
/// Formatted by hand from `clock_gettime`: it runs once per stored log line, and
/// Foundation's formatters cost more than the insert itself.
public enum Timestamp {
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return format(seconds: ts.tv_sec, milliseconds: Int(ts.tv_nsec / 1_000_000))
    }

    /// The time `delay` from now.
    static func after(_ delay: Duration) -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let milliseconds = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
            + delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
        return format(seconds: Int(milliseconds / 1000), milliseconds: Int(milliseconds % 1000))
    }

    public static func format(seconds: Int, milliseconds: Int) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        // Written in place, digit by digit: one allocation, the string's own.
        return String(unsafeUninitializedCapacity: 24) { out in
            var at = 0
            func put(_ value: Int, _ width: Int, then separator: Character) {
                var v = value
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(48 + v % 10)
                    v /= 10
                }
                out[at + width] = separator.asciiValue!
                at += width + 1
            }
            put(Int(tm.tm_year) + 1900, 4, then: "-")
            put(Int(tm.tm_mon) + 1, 2, then: "-")
            put(Int(tm.tm_mday), 2, then: "T")
            put(Int(tm.tm_hour), 2, then: ":")
            put(Int(tm.tm_min), 2, then: ":")
            put(Int(tm.tm_sec), 2, then: ".")
            put(milliseconds, 3, then: "Z")
            return at
        }
    }

    /// Milliseconds since the epoch of a timestamp in this form, or nil.
    public static func milliseconds(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        guard u.count == 24 else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for i in range {
                let digit = Int32(u[i]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19), let millis = number(20..<23) else { return nil }
        var tm = Glibc.tm()
        (tm.tm_year, tm.tm_mon, tm.tm_mday) = (year - 1900, month - 1, day)
        (tm.tm_hour, tm.tm_min, tm.tm_sec) = (hour, minute, second)
        return Int64(timegm(&tm)) * 1000 + Int64(millis)
    }
}
