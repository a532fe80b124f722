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
            if ImageSignature(fileAt: url) == .jpeg { throw jpegUnsupported(input.name) }
            return Seen(image: try Image(contentsOf: url), warnings: [])
        case .bytes(let data):
            if ImageSignature(data) == .jpeg { throw jpegUnsupported(input.name) }
            do {
                return Seen(image: try Image(data: data), warnings: [])
            } catch let error as DigitError {
                // The library calls in-memory data "<memory>"; name the input.
                throw DigitError(error.code, error.message.replacingOccurrences(of: "<memory>", with: input.name))
            }
        }
    }

    /// Until the library decodes JPEG (its 2.0 `Image(contentsOf:)`).
    private static func jpegUnsupported(_ name: String) -> DigitError {
        DigitError(.format, "\(name): JPEG is not supported by this build of libdigit yet; convert it to PNG")
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
