// SPDX-License-Identifier: MIT
import CDigit
import Foundation

/// An error reported by libdigit, or by this module for the same reasons.
///
/// `message` is the library's own explanation (from `digit_last_error()`),
/// which names the file or argument involved and the problem, for example
/// `"model.safetensors: not a safetensors file (header length 1 exceeds file size)"`.
public struct DigitError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// The kind of failure: one of the library's `digit_status` values.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The numeric `digit_status` value.
        public let rawValue: Int32
        /// Wraps a raw `digit_status` value.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// A bad argument: a size, option or value out of range.
        public static let argument = Code(DIGIT_ERR_ARGUMENT)
        /// A file could not be opened, read or written.
        public static let io = Code(DIGIT_ERR_IO)
        /// A file's contents are malformed or unsupported.
        public static let format = Code(DIGIT_ERR_FORMAT)
        /// An allocation failed or a size is too large.
        public static let memory = Code(DIGIT_ERR_MEMORY)
        /// A progress callback asked to stop (training was cancelled).
        public static let cancelled = Code(DIGIT_ERR_CANCELLED)
        /// An image holds no usable digit (for example, no ink at all).
        public static let image = Code(DIGIT_ERR_IMAGE)
        /// The model is being trained: a progress closure of that run may
        /// not modify or train it.
        public static let busy = Code(DIGIT_ERR_BUSY)

        init(_ status: digit_status) { self.rawValue = Int32(truncatingIfNeeded: status.rawValue) }

        /// The library's short name for the code, e.g. `"format error"`.
        public var description: String {
            String(cString: digit_status_name(digit_status(rawValue: numericCast(rawValue))))
        }
    }

    /// What went wrong, broadly.
    public let code: Code
    /// What went wrong, precisely; names the file or argument involved.
    public let message: String

    /// Makes an error with an explicit code and message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Captures the calling thread's `digit_last_error()` for a failed call.
    init(status: digit_status) {
        let text = String(cString: digit_last_error())
        self.init(Code(status), text)
    }

    /// Whether this error reports a cancelled training run.
    public var isCancellation: Bool { code == .cancelled }

    /// The message, or the code's name when the library gave none.
    public var description: String { message.isEmpty ? code.description : message }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// Throws the calling thread's last libdigit error unless `status` is OK.
@inline(__always)
func check(_ status: digit_status) throws {
    if status != DIGIT_OK { throw DigitError(status: status) }
}

/// Converts a Swift integer into a C `int` field, or throws naming `what`.
func cInt(_ value: Int, _ what: String) throws -> Int32 {
    guard let v = Int32(exactly: value) else {
        throw DigitError(.argument, "\(what) \(value) is out of range")
    }
    return v
}

extension URL {
    /// Runs `body` with the file-system path of a file URL as a C string.
    func withCPath<R>(_ body: (UnsafePointer<CChar>) throws -> R) throws -> R {
        guard isFileURL else {
            throw DigitError(.argument, "\(absoluteString): not a file URL")
        }
        return try withUnsafeFileSystemRepresentation { path in
            guard let path else {
                throw DigitError(.argument, "\(self.path): cannot be represented as a file path")
            }
            return try body(path)
        }
    }
}
