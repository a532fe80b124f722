// SPDX-License-Identifier: MIT
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Time since this process started, for the wall time `digitc train`
/// prints: it includes loading the program and the data, which a timer
/// started in `main` would miss.
enum ProcessClock {
    /// When `main` first asked; the fallback where /proc is not there.
    private static let firstUse = Date()

    static var secondsSinceStart: Double {
        if let seconds = secondsFromProc() { return seconds }
        return Date().timeIntervalSince(firstUse)
    }

    /// Linux: /proc/uptime minus the process's start time (field 22 of
    /// /proc/self/stat, in clock ticks since boot). The command name in
    /// field 2 may hold spaces and parentheses, so fields are counted from
    /// the last ')'.
    private static func secondsFromProc() -> Double? {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              let uptimeText = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let uptime = uptimeText.split(separator: " ").first.flatMap({ Double($0) })
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard fields.count > 19, let ticks = Double(fields[19]), ticksPerSecond > 0 else { return nil }
        return uptime - ticks / ticksPerSecond
        #else
        return nil
        #endif
    }
}
