// SPDX-License-Identifier: MIT
import Digit
import Foundation

/// One row of the metrics files.
struct EpochRecord: Codable {
    var epoch: Int
    var trainLoss: Double
    var testLoss: Double?
    var testAccuracy: Double?
    var seconds: Double
    var learningRate: Double

    enum CodingKeys: String, CodingKey {
        case epoch
        case trainLoss = "train_loss"
        case testLoss = "test_loss"
        case testAccuracy = "test_accuracy"
        case seconds
        case learningRate = "learning_rate"
    }

    init(_ e: EpochProgress) {
        epoch = e.epoch
        trainLoss = e.trainLoss
        testLoss = e.testLoss
        testAccuracy = e.testAccuracy
        seconds = e.seconds
        learningRate = e.learningRate
    }

    static let csvHeader = "epoch,train_loss,test_loss,test_accuracy,seconds,learning_rate"

    var csvLine: String {
        func num(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "" }
        return "\(epoch),\(num(trainLoss)),\(num(testLoss)),\(num(testAccuracy)),\(String(format: "%.3f", seconds)),\(num(learningRate))"
    }

    /// Parses a line written by `csvLine`; nil for anything else.
    init?(csvLine line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 6, let epoch = Int(f[0]), let trainLoss = Double(f[1]),
              let seconds = Double(f[4]), let lr = Double(f[5]) else { return nil }
        self.epoch = epoch
        self.trainLoss = trainLoss
        testLoss = Double(f[2])
        testAccuracy = Double(f[3])
        self.seconds = seconds
        learningRate = lr
    }
}

/// The whole metrics.json document.
struct MetricsDocument: Codable {
    struct Options: Codable {
        var epochs: Int
        var batchSize: Int
        var learningRate: Double
        var milestones: [Int]
        var gamma: Double
        var seed: UInt64
        var threads: Int
        enum CodingKeys: String, CodingKey {
            case epochs, batchSize = "batch_size", learningRate = "learning_rate", milestones, gamma, seed, threads
        }
    }
    var model: String
    var architecture: String
    var trainedWith: String
    var trainedAt: String
    var trainImages: Int
    var testImages: Int
    var options: Options
    var testLoss: Double?
    var testAccuracy: Double?
    var epochs: [EpochRecord]

    enum CodingKeys: String, CodingKey {
        case model, architecture, trainedWith = "trained_with", trainedAt = "trained_at"
        case trainImages = "train_images", testImages = "test_images", options
        case testLoss = "test_loss", testAccuracy = "test_accuracy", epochs
    }
}

enum MetricsFiles {
    static func csv(_ records: [EpochRecord]) -> String {
        ([EpochRecord.csvHeader] + records.map(\.csvLine)).joined(separator: "\n") + "\n"
    }

    /// Rows of an earlier metrics CSV (for a resumed run); empty if absent.
    static func readCSV(_ url: URL) -> [EpochRecord] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { EpochRecord(csvLine: $0) }
    }

    static func json(_ doc: MetricsDocument) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(doc) + Data("\n".utf8)
    }

    /// Writes `data` to `url` atomically, or throws a CLIError naming it.
    static func write(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw CLIError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
