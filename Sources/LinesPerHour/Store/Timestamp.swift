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

    public static func format(seconds: Int, milliseconds: Int) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ value: Int, _ width: Int) {
            var digits = [UInt8](repeating: 48, count: width)
            var v = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                digits[i] = UInt8(48 + v % 10)
                v /= 10
            }
            out.append(contentsOf: digits)
        }
        put(Int(tm.tm_year) + 1900, 4); out.append(45)
        put(Int(tm.tm_mon) + 1, 2); out.append(45)
        put(Int(tm.tm_mday), 2); out.append(84)
        put(Int(tm.tm_hour), 2); out.append(58)
        put(Int(tm.tm_min), 2); out.append(58)
        put(Int(tm.tm_sec), 2); out.append(46)
        put(milliseconds, 3); out.append(90)
        return String(decoding: out, as: UTF8.self)
    }
}
