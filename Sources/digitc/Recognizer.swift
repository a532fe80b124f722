// SPDX-License-Identifier: MIT
import Digit
import DigitJSON
import Foundation

/// Every call that `digitc classify` makes into the Digit module, in one
/// place, so that a change of that API is adapted here alone.
struct Recognizer {
    /// An input after preprocessing: what the model reads, and what the
    /// preprocessing noticed on the way.
    struct Seen {
        let image: Image
        let warnings: [String]
    }

    private let model: Model

    init(modelAt url: URL) throws {
        model = try Model(contentsOf: url)
    }

    /// Decodes and preprocesses one input; errors name `input.name`.
    static func preprocess(_ input: Input) throws -> Seen {
        switch input.source {
        case .file(let url):
            let image = try Image(contentsOf: url)
            return Seen(image: image, warnings: image.report?.warnings ?? [])
        case .bytes(let data):
            do {
                let image = try Image(data: data)
                return Seen(image: image, warnings: image.report?.warnings ?? [])
            } catch let error as DigitError {
                // The library calls in-memory data "<memory>"; name the input.
                throw DigitError(error.code, error.message.replacingOccurrences(of: "<memory>", with: input.name))
            }
        }
    }

    /// Classifies preprocessed inputs in one batch, in order.
    func predict(_ seen: [Seen]) throws -> [Prediction] {
        try model.predict(seen.map(\.image))
    }

    /// The JSON record of one classified input.
    static func record(_ name: String, _ seen: Seen, _ prediction: Prediction, top: Int, minConfidence: Float?)
        -> ClassificationRecord
    {
        ClassificationRecord(file: name, prediction: prediction, image: seen.image, top: top,
                             minConfidence: minConfidence, warnings: seen.warnings)
    }

    /// Writes the 28×28 input the model saw as a PNG.
    static func saveInput(_ seen: Seen, to url: URL) throws {
        try seen.image.savePNG(to: url)
    }
}
