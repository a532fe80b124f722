// SPDX-License-Identifier: MIT
import Foundation
import Hummingbird

/// One image of a request, before decoding: encoded bytes (PNG, JPEG) or
/// 28×28 pixels already in model format.
enum ImagePayload: Sendable {
    case encoded(Data)
    case pixels([UInt8])
}

/// `{"image": "<base64>"}` or `{"pixels": [[28 ints] × 28]}`.
struct ImageObject: Decodable {
    var image: String?
    var pixels: [[Int]]?

    /// The payload, or a 400 naming the problem (`what` says which image).
    func payload(_ what: String) throws -> ImagePayload {
        switch (image, pixels) {
        case (let base64?, nil):
            guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters), !data.isEmpty else {
                throw APIError.badRequest("\(what): \"image\" is not valid base64 of a non-empty image")
            }
            return .encoded(data)
        case (nil, let rows?):
            return .pixels(try Self.flatten(rows, what))
        case (nil, nil):
            throw APIError.badRequest("\(what): give \"image\" (base64 PNG or JPEG) or \"pixels\" (28 rows of 28 values 0-255)")
        case (_?, _?):
            throw APIError.badRequest("\(what): give \"image\" or \"pixels\", not both")
        }
    }

    static func flatten(_ rows: [[Int]], _ what: String) throws -> [UInt8] {
        guard rows.count == 28, rows.allSatisfy({ $0.count == 28 }) else {
            let shape = rows.map { String($0.count) }.joined(separator: ",")
            throw APIError.badRequest("\(what): \"pixels\" must be 28 rows of 28 values, not rows of [\(shape)]", kind: .argument)
        }
        var flat: [UInt8] = []
        flat.reserveCapacity(784)
        for (r, row) in rows.enumerated() {
            for (c, value) in row.enumerated() {
                guard let byte = UInt8(exactly: value) else {
                    throw APIError.badRequest("\(what): pixel [\(r)][\(c)] is \(value), not 0-255", kind: .argument)
                }
                flat.append(byte)
            }
        }
        return flat
    }
}

/// `{"images": [ImageObject, …]}`.
struct BatchObject: Decodable {
    var images: [ImageObject]
}

/// How the API reads request bodies and options.
struct RequestReader {
    let maxBody: Int
    let timeout: Duration

    /// The body, all of it, within the size limit and the time limit.
    func body(of request: Request) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBody {
            throw APIError.tooLarge("the request body (\(length) bytes) is over the \(maxBody)-byte limit")
        }
        let limit = maxBody, timeout = timeout
        let buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await request.body.collect(upTo: limit) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                var error = APIError(status: .requestTimeout, kind: .timeout,
                                     message: "the request body did not arrive within \(timeout)")
                error.headers = [.connection: "close"]
                throw error
            }
            return buffer
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; send an image") }
        return Data(buffer: buffer)
    }

    /// The media type without parameters, lowercased: "image/png".
    static func mediaType(of request: Request) -> String? {
        request.headers[.contentType].map {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw APIError.badRequest("the JSON body does not match the schema: \(Self.explain(error))")
        } catch {
            throw APIError.badRequest("the body is not valid JSON")
        }
    }

    private static func explain(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "the body" : String(p.drop { $0 == "." })
        }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(path(c)) has the wrong type"
        case .keyNotFound(let key, let c): return "\(path(c)) lacks \"\(key.stringValue)\""
        case .dataCorrupted(let c): return c.codingPath.isEmpty ? "not valid JSON" : "\(path(c)) is malformed"
        @unknown default: return "malformed"
        }
    }

    /// `?top=k` (1…10, default 3) and `?min_confidence=p` (0…1).
    static func options(of request: Request) throws -> (top: Int, minConfidence: Float?) {
        let query = request.uri.queryParameters
        var top = 3
        if let text = query["top"] {
            guard let k = Int(String(text)), (1...10).contains(k) else {
                throw APIError.badRequest("top must be 1-10, not \(text)", kind: .argument)
            }
            top = k
        }
        var minConfidence: Float?
        if let text = query["min_confidence"] {
            guard let p = Float(String(text)), (0...1).contains(p) else {
                throw APIError.badRequest("min_confidence must be 0-1, not \(text)", kind: .argument)
            }
            minConfidence = p
        }
        return (top, minConfidence)
    }
}
