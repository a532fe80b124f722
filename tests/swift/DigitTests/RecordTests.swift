// SPDX-License-Identifier: MIT
import Digit
import DigitJSON
import Foundation
import Testing

/// The JSON records shared by digitc and digitc-serve.
@Suite("JSON records")
struct RecordTests {
    static let probabilities: [Float] = [0.05, 0.1, 0.05, 0.3, 0, 0, 0, 0.3, 0.1, 0.1]

    @Test func classificationRanksAndMarksUnsure() throws {
        let pixels = (0..<784).map { UInt8($0 % 256) }
        let r = ClassificationRecord(file: "d.png", probabilities: Self.probabilities, pixels: pixels, top: 4, minConfidence: 0.5)
        // A tie goes to the smaller digit, as in Prediction.top.
        #expect(r.digit == 3 && r.confidence == 0.3 && r.unsure)
        #expect(r.top.map(\.digit) == [3, 7, 1, 8])
        #expect(r.input.count == 28 && r.input[1][0] == 28 && r.input[27][27] == 783 % 256)
        #expect(ClassificationRecord(probabilities: Self.probabilities, pixels: pixels, top: 99).top.count == 10)
        #expect(!ClassificationRecord(probabilities: Self.probabilities, pixels: pixels, top: 1).unsure)
    }

    @Test func classificationRoundTripsWithoutFile() throws {
        let r = ClassificationRecord(probabilities: Self.probabilities, pixels: [UInt8](repeating: 0, count: 784), top: 3)
        let text = try RecordEncoding.line(r)
        #expect(!text.contains("\"file\"") && !text.contains("\n"))
        #expect(try JSONDecoder().decode(ClassificationRecord.self, from: Data(text.utf8)) == r)
    }

    @Test func errorsKeepTheLibrarysKind() throws {
        let format = ErrorRecord(file: "x.png", error: DigitError(.format, "x.png: not a PNG file"))
        #expect(format.error.kind == "format" && format.error.message == "x.png: not a PNG file" && format.error.status == nil)
        let image = ErrorRecord(error: DigitError(.image, "no ink"), status: 400).error
        #expect(image.status == 400 && image.kind == "image" && image.message == "no ink")
        struct Other: Error {}
        #expect(ErrorRecord(error: Other()).error.kind == "internal")
        let text = try RecordEncoding.line(format)
        #expect(text == #"{"error":{"kind":"format","message":"x.png: not a PNG file"},"file":"x.png"}"#)
    }

    @Test func batchItemsDecodeAsWhatTheyAre() throws {
        let ok = ClassificationRecord(probabilities: Self.probabilities, pixels: [UInt8](repeating: 0, count: 784), top: 1)
        let batch = BatchRecord(results: [.classification(ok), .failure(ErrorRecord(kind: .format, message: "bad", status: 400))])
        let decoded = try JSONDecoder().decode(BatchRecord.self, from: RecordEncoding.data(batch))
        #expect(decoded == batch)
    }

    @Test func modelInfoKeepsMetadata() throws {
        let model = try Model(preset: .compact, seed: 1)
        try model.setMetadata("yes", forKey: "b_second")
        try model.setMetadata("first", forKey: "a_first")
        let info = ModelInfoRecord(model: model, file: nil)
        #expect(info.architecture == "compact" && info.parameters == 31_898 && info.file == nil)
        #expect(info.metadata.entries.map(\.key) == ["b_second", "a_first"])
        let object = try #require(try JSONSerialization.jsonObject(with: RecordEncoding.data(info)) as? [String: Any])
        #expect((object["metadata"] as? [String: String]) == ["a_first": "first", "b_second": "yes"])
    }
}
