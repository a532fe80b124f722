// SPDX-License-Identifier: MIT
import Digit
import Foundation

/// digitc's exit statuses.
enum ExitStatus {
    static let usage: Int32 = 1
    static let data: Int32 = 2
    static let interrupted: Int32 = 130
}

/// A failure to report as `digitc: error: <message>` and exit with `exitCode`
/// (2, an input or data error, unless said otherwise).
struct CLIError: Error {
    let message: String
    let exitCode: Int32

    init(_ message: String, exitCode: Int32 = ExitStatus.data) {
        self.message = message
        self.exitCode = exitCode
    }
}

/// Unbuffered writes to the standard streams.
struct TextStream: TextOutputStream {
    let fd: Int32

    func write(_ string: String) {
        var rest = Array(string.utf8)[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            rest = rest.dropFirst(n)
        }
    }

    mutating func write(_ string: String, terminator: String = "") {
        (self as TextStream).write(string + terminator)
    }
}

enum Console {
    static let standardError = TextStream(fd: STDERR_FILENO)
    static let standardOutput = TextStream(fd: STDOUT_FILENO)

    /// Whether standard error is a terminal (progress bars) or a log.
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// `digitc: error: <message>` on standard error.
    static func error(_ message: String) {
        standardError.write("digitc: error: \(message)\n")
    }

    /// `digitc: <message>` on standard error.
    static func note(_ message: String) {
        standardError.write("digitc: \(message)\n")
    }

    /// A line on standard output, written at once (not buffered) so that
    /// it interleaves correctly with standard error.
    static func out(_ line: String = "") {
        standardOutput.write(line + "\n")
    }
}

/// Number formatting shared by the reports.
enum Format {
    /// 421642 → "421,642".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// A fixed-point number, e.g. fixed(0.12345, 4) → "0.1235".
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", x)
    }

    /// 0.986 → "98.60%".
    static func percent(_ fraction: Double, _ decimals: Int = 2) -> String {
        String(format: "%.\(decimals)f%%", fraction * 100)
    }

    /// 75 → "1:15"; 4000 → "1:06:40".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// Pads `s` to `width` columns, on the left when `right` is true.
    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let n = s.count
        guard n < width else { return s }
        let fill = String(repeating: " ", count: width - n)
        return right ? fill + s : s + fill
    }

    /// A path for messages: relative to the current directory when inside it.
    static func path(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let p = url.standardizedFileURL.path
        if p.hasPrefix(cwd + "/") { return String(p.dropFirst(cwd.count + 1)) }
        return p
    }

    /// Quotes a command-line argument for a POSIX shell when needed.
    static func shellQuoted(_ argument: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !argument.isEmpty && argument.unicodeScalars.allSatisfy({ safe.contains($0) }) { return argument }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The command line this process was started with, shell-quoted, with
    /// the program named `digitc`.
    static var commandLine: String {
        (["digitc"] + CommandLine.arguments.dropFirst()).map(shellQuoted).joined(separator: " ")
    }
}
