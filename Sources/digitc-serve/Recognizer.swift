import CDigit
import Digit
import DigitJSON
import Foundation

/// Every call that the server makes into the Digit module (and the one
/// into the C library), in one place, so that a change of that API is
/// adapted here alone.
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
    /// The Digit module has no wrapper for it yet, hence the C call.
    static func setLibraryThreads(_ n: Int) {
        digit_set_threads(Int32(clamping: n))
    }

    /// Decodes and preprocesses an encoded image (PNG today).
    /// - Throws: ``UnsupportedImage`` for a JPEG, which libdigit 1.x cannot
    ///   decode; a DigitError for a bad or inkless image.
    static func preprocess(encoded data: Data) throws -> Seen {
        if data.starts(with: [0xFF, 0xD8, 0xFF]) { throw UnsupportedImage.jpeg }
        do {
            return Seen(image: try Image(data: data), warnings: [])
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

/// An image format the library cannot decode yet.
enum UnsupportedImage: Error, CustomStringConvertible {
    case jpeg

    var description: String {
        "JPEG decoding is not available in this build of libdigit yet (PNG only); send a PNG"
    }
}
