// SPDX-License-Identifier: MIT
import Digit
import DigitJSON
import Foundation
import Hummingbird
import NIOCore

/// A request the server refuses, answered as
/// `{"error": {"status": …, "kind": …, "message": …}}`.
struct APIError: Error {
    let status: HTTPResponse.Status
    let kind: ErrorKind
    let message: String
    var headers: HTTPFields

    init(status: HTTPResponse.Status, kind: ErrorKind, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers
    }

    static func badRequest(_ message: String, kind: ErrorKind = .request) -> APIError {
        APIError(status: .badRequest, kind: kind, message: message)
    }

    static func tooLarge(_ message: String) -> APIError {
        APIError(status: .contentTooLarge, kind: .tooLarge, message: message)
    }

    static func mediaType(_ message: String) -> APIError {
        APIError(status: .unsupportedMediaType, kind: .mediaType, message: message)
    }

    /// The status and kind for any error a handler throws.
    init(_ error: any Error, maxBody: Int) {
        switch error {
        case let error as APIError:
            self = error
        case let error as InferenceGate.Refusal:
            self = APIError(status: .serviceUnavailable, kind: error == .busy ? .busy : .timeout,
                            message: error == .busy ? "the inference queue is full; retry shortly"
                                                    : "no inference slot became free within the request timeout; retry shortly",
                            headers: [.retryAfter: "1"])
        case is NIOTooManyBytesError:
            self = .tooLarge("the request body is over the \(maxBody)-byte limit")
        case let error as DigitError:
            // Bad images are the client's; anything else is the server's.
            let record = ErrorRecord(error: error)
            let isClients = [ErrorKind.format, .image, .argument].map(\.rawValue).contains(record.error.kind)
            self = APIError(status: isClients ? .badRequest : .internalServerError,
                            kind: ErrorKind(rawValue: record.error.kind) ?? .internal, message: record.error.message)
        case let error as HTTPError where error.status == .notFound:
            self = APIError(status: .notFound, kind: .notFound, message: "no such endpoint; see /openapi.json")
        case let error as HTTPError where error.status == .methodNotAllowed:
            self = APIError(status: .methodNotAllowed, kind: .notFound, message: "this endpoint does not take that method")
        case let error as any HTTPResponseError:
            self = APIError(status: error.status, kind: .request, message: error.status.reasonPhrase)
        default:
            self = APIError(status: .internalServerError, kind: .internal, message: "internal error: \(error)")
        }
    }

    var record: ErrorRecord {
        ErrorRecord(kind: kind, message: message, status: status.code)
    }

    func response() -> Response {
        var response = JSONBody.response(record, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}

/// Turns every error below it, the router's 404 and 405 included, into a
/// JSON error object, so that no answer of the API is anything else.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBody: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError(error, maxBody: maxBody)
            if apiError.status.code >= 500 && apiError.kind == .internal {
                context.logger.error("\(request.method) \(request.uri.path): \(apiError.message)")
            }
            return apiError.response()
        }
    }
}

/// JSON responses, encoded the same way digitc prints its records.
enum JSONBody {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? RecordEncoding.data(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
