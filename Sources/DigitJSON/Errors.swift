// SPDX-License-Identifier: MIT
/// An input that could not be classified, or a request the server refused.
///
/// `digitc classify --json` prints `{"file": …, "error": {"kind": …, "message": …}}`;
/// the server answers `{"error": {"status": 400, "kind": …, "message": …}}`.
public struct ErrorRecord: Codable, Sendable, Equatable, Error {
    /// What went wrong.
    public struct Detail: Codable, Sendable, Equatable {
        /// The HTTP status the server answered with; absent in digitc's output.
        public var status: Int?
        /// A stable, machine-readable kind: see ``ErrorKind``.
        public var kind: String
        /// A sentence for people, naming the input and the problem.
        public var message: String
    }

    /// The input as named on the command line; absent in the server's answers.
    public var file: String?
    public var error: Detail

    public init(file: String? = nil, kind: ErrorKind, message: String, status: Int? = nil) {
        self.file = file
        error = Detail(status: status, kind: kind.rawValue, message: message)
    }
}

/// The values of `error.kind`. The first six are libdigit's own failure
/// kinds; the others are the server's.
public enum ErrorKind: String, Sendable, CaseIterable {
    /// A file or the standard input could not be read.
    case io
    /// Not a PNG (or JPEG), or a corrupt or truncated one, or over the size limits.
    case format
    /// A valid image that holds no usable digit, e.g. no ink at all.
    case image
    /// A value out of range, e.g. pixels that are not 28×28 values 0…255.
    case argument
    /// Out of memory.
    case memory
    /// Anything else.
    case `internal`
    /// The request itself is malformed: bad JSON, missing fields, bad base64.
    case request
    /// The body is over the server's `--max-body` limit (HTTP 413).
    case tooLarge = "too-large"
    /// A Content-Type the endpoint does not take (HTTP 415).
    case mediaType = "media-type"
    /// The inference queue is full (HTTP 503 with Retry-After).
    case busy
    /// The request did not complete within the server's `--timeout`.
    case timeout
    /// No such endpoint (HTTP 404) or method (HTTP 405).
    case notFound = "not-found"
}

/// The answer of `POST /v1/classify/batch`: one entry per image, in order,
/// each either a ``ClassificationRecord`` or an ``ErrorRecord``.
public struct BatchRecord: Codable, Sendable, Equatable {
    public enum Item: Codable, Sendable, Equatable {
        case classification(ClassificationRecord)
        case failure(ErrorRecord)

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .classification(let record): try record.encode(to: encoder)
            case .failure(let record): try record.encode(to: encoder)
            }
        }

        public init(from decoder: any Decoder) throws {
            if let failure = try? ErrorRecord(from: decoder) {
                self = .failure(failure)
            } else {
                self = .classification(try ClassificationRecord(from: decoder))
            }
        }
    }

    public var results: [Item]

    public init(results: [Item]) { self.results = results }
}
