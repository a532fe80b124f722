// SPDX-License-Identifier: MIT
import DigitJSON
import Foundation
import Hummingbird

/// The handlers of `/v1/classify` and `/v1/classify/batch`.
struct ClassifierAPI: Sendable {
    let recognizer: Recognizer
    let gate: InferenceGate
    let reader: RequestReader

    /// The most images one batch request may hold.
    static let maxBatch = 64

    /// `POST /v1/classify`: a PNG or JPEG body, or JSON `{"image"}` / `{"pixels"}`.
    func classify(_ request: Request) async throws -> Response {
        let deadline = ContinuousClock.now + reader.timeout
        let options = try RequestReader.options(of: request)
        let payload: ImagePayload
        switch RequestReader.mediaType(of: request) {
        case "image/png", "image/jpeg":
            payload = .encoded(try await reader.body(of: request))
        case "application/json":
            payload = try RequestReader.decodeJSON(ImageObject.self, from: try await reader.body(of: request)).payload("the image")
        case let other:
            throw APIError.mediaType("Content-Type \(other.map { "'\($0)'" } ?? "missing"): send image/png, image/jpeg or application/json")
        }
        let recognizer = recognizer
        let record = try await gate.run(weight: 1, deadline: deadline) {
            let seen = try Self.preprocess(payload)
            let prediction = try recognizer.predict([seen])[0]
            return Recognizer.record(seen, prediction, top: options.top, minConfidence: options.minConfidence)
        }
        return JSONBody.response(record)
    }

    /// `POST /v1/classify/batch`: JSON `{"images": [...]}`, one result or
    /// error object per image, in order.
    func classifyBatch(_ request: Request) async throws -> Response {
        let deadline = ContinuousClock.now + reader.timeout
        let options = try RequestReader.options(of: request)
        guard RequestReader.mediaType(of: request) == "application/json" else {
            throw APIError.mediaType("a batch is JSON: send Content-Type application/json")
        }
        let batch = try RequestReader.decodeJSON(BatchObject.self, from: try await reader.body(of: request))
        guard !batch.images.isEmpty else { throw APIError.badRequest("\"images\" is empty; send 1 to \(Self.maxBatch) images") }
        guard batch.images.count <= Self.maxBatch else {
            throw APIError.tooLarge("\(batch.images.count) images in one batch; the most is \(Self.maxBatch)")
        }
        let payloads = batch.images.enumerated().map { i, object in Result { try object.payload("image \(i)") } }
        let recognizer = recognizer, maxBody = reader.maxBody
        let weight = Recognizer.threadsUsed(forBatchOf: payloads.count, configured: gate.capacity)
        let record = try await gate.run(weight: weight, deadline: deadline) {
            try Self.classify(payloads, with: recognizer, options: options, maxBody: maxBody)
        }
        return JSONBody.response(record)
    }

    /// Preprocesses each payload, classifies the good ones in one library
    /// call, and answers each in place.
    private static func classify(_ payloads: [Result<ImagePayload, any Error>], with recognizer: Recognizer,
                                 options: (top: Int, minConfidence: Float?), maxBody: Int) throws -> BatchRecord {
        let seen = payloads.map { payload in Result { try preprocess(payload.get()) } }
        var predictions = try recognizer.predict(seen.compactMap { try? $0.get() })[...]
        return BatchRecord(results: seen.map { item in
            switch item {
            case .success(let seen):
                .classification(Recognizer.record(seen, predictions.removeFirst(), top: options.top,
                                                  minConfidence: options.minConfidence))
            case .failure(let error):
                .failure(APIError(error, maxBody: maxBody).record)
            }
        })
    }

    private static func preprocess(_ payload: ImagePayload) throws -> Recognizer.Seen {
        switch payload {
        case .encoded(let data): try Recognizer.preprocess(encoded: data)
        case .pixels(let pixels): try Recognizer.wrap(pixels: pixels)
        }
    }
}
