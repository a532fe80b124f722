// SPDX-License-Identifier: MIT
import Digit
import DigitJSON
import Foundation

/// Every call that the server makes into the Digit module, in one place,
/// so that a change of that API is adapted here alone.
struct Recognizer: Sendable {
    /// An image after preprocessing: what the model reads, and what the
    /// preprocessing noticed on the way.
    struct Seen: Sendable {
        let image: Image
        let warnings: [String]
    }

    private let model: Model
    /// What `GET /v1/model` answers.
    let info: ModelInfoRecord

    /// Loads the model; errors name the file.
    init(modelAt url: URL, shownAs name: String) throws {
        model = try Model(contentsOf: url)
        info = ModelInfoRecord(model: model, file: name)
    }

    /// Sets the library's thread count for inference: a batch is split
    /// between this many threads, a single image runs on the caller's.
    static func setLibraryThreads(_ n: Int) {
        Digit.inferenceThreads = n
    }

    /// Decodes and preprocesses an encoded image (PNG or JPEG).
    /// - Throws: a DigitError for a bad or inkless image.
    static func preprocess(encoded data: Data) throws -> Seen {
        do {
            let image = try Image(data: data)
            return Seen(image: image, warnings: image.report?.warnings ?? [])
        } catch let error as DigitError {
            throw DigitError(error.code, error.message.replacingOccurrences(of: "<memory>: ", with: ""))
        }
    }

    /// Wraps 784 pixels already in model format (ink bright, as MNIST).
    static func wrap(pixels: [UInt8]) throws -> Seen {
        Seen(image: try Image(pixels: pixels), warnings: [])
    }

    /// Classifies preprocessed images in one library call.
    func predict(_ seen: [Seen]) throws -> [Prediction] {
        try model.predict(seen.map(\.image))
    }

    /// The record of one classified image.
    static func record(_ seen: Seen, _ prediction: Prediction, top: Int, minConfidence: Float?) -> ClassificationRecord {
        ClassificationRecord(prediction: prediction, image: seen.image, top: top,
                             minConfidence: minConfidence, warnings: seen.warnings)
    }

    /// Threads the library uses for a batch of `count` images with `n`
    /// threads configured: it gives each thread at least 8 images.
    static func threadsUsed(forBatchOf count: Int, configured n: Int) -> Int {
        max(1, min(n, (count + 7) / 8))
    }
}
