// SPDX-License-Identifier: MIT
import ArgumentParser
import Digit
import DigitJSON
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model on the MNIST test set.",
        discussion: """
            Prints the loss, the accuracy, the confusion matrix (rows: true digit,
            columns: predicted digit) and each digit's precision and recall.
            MNIST is read from --data or $DIGIT_DATA exactly as it is there (missing
            files are an error; --fetch downloads them); without either, from the
            per-user cache, which is fetched into when it lacks files.

            Examples:
              digitc evaluate
              digitc evaluate --model model.safetensors --data ~/mnist
              digitc evaluate --errors errors.png     # a sheet of misclassified digits
              digitc evaluate --limit 1000            # the first 1000 test images only
              digitc evaluate --json                  # one JSON object (README: "JSON records")
            """)

    @Option(help: ArgumentHelp("Model file (default: $DIGIT_MODEL, else the shipped \(Locations.defaultModelName)).", valueName: "file"))
    var model: String?

    @Option(help: ArgumentHelp("MNIST directory, read as it is (default: $DIGIT_DATA, else the per-user cache, fetched into when empty).", valueName: "dir"))
    var data: String?

    @Flag(help: "Download the MNIST files missing from --data (or $DIGIT_DATA); existing files are never replaced.")
    var fetch = false

    @Option(help: ArgumentHelp("Write a PNG sheet of up to --max-errors misclassified test digits, each labelled true→predicted.", valueName: "file.png"))
    var errors: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The most digits the --errors sheet shows.", valueName: "n"))
    var maxErrors: Int = 100

    @Option(parsing: .unconditional, help: ArgumentHelp("Evaluate on the first N test images only.", valueName: "n"))
    var limit: Int?

    @Flag(help: "Print one JSON object instead of the tables.")
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, not \(limit)") }
        if maxErrors < 1 { throw ValidationError("--max-errors must be at least 1, not \(maxErrors)") }
        if let errors, errors.isEmpty || errors.hasSuffix("/") {
            throw ValidationError("--errors must name a PNG file, not '\(errors)'")
        }
    }

    func run() throws {
        let modelURL = try Locations.model(model)
        let model = try Model(contentsOf: modelURL)
        let dataLocation = Locations.dataDirectory(data)
        try Locations.ensureMNIST(in: dataLocation, fetch: fetch)
        let dataDir = dataLocation.url
        var testSet = try Dataset(mnistDirectory: dataDir, split: .test)
        if let limit, limit < testSet.count { testSet = try testSet.prefix(count: limit) }

        let evaluation = try model.evaluate(on: testSet)
        if json {
            Console.out(try RecordEncoding.line(EvaluationRecord(
                evaluation, model: Format.path(modelURL), architecture: model.preset.rawValue, data: dataDir.path)))
        } else {
            report(evaluation, model: model, modelURL: modelURL, dataDir: dataDir, count: testSet.count)
        }

        if let errors {
            let url = URL(fileURLWithPath: Locations.expandingTilde(errors))
            let (items, total) = try Self.misclassified(model: model, dataset: testSet, limit: maxErrors)
            let canvas = ErrorGrid.render(items)
            try Image.savePNG(gray: canvas.pixels, width: canvas.width, height: canvas.height, to: url)
            let message = "wrote \(Format.path(url)): \(items.count) of \(Format.grouped(total)) misclassified digits (true→predicted)"
            if json {
                Console.note(message)  // standard output holds only the JSON object
            } else {
                Console.out()
                Console.out(message)
            }
        }
    }

    /// The text report: summary, confusion matrix, per-class table.
    func report(_ evaluation: Evaluation, model: Model, modelURL: URL, dataDir: URL, count: Int) {
        Console.out("model     \(Format.path(modelURL)) (\(model.preset.rawValue), \(Format.grouped(model.parameterCount)) parameters)")
        Console.out("data      \(dataDir.path), \(Format.grouped(count)) test images")
        Console.out("loss      \(Format.fixed(evaluation.loss, 4))")
        Console.out("accuracy  \(Format.percent(evaluation.accuracy)) (\(Format.grouped(evaluation.correct)) of \(Format.grouped(evaluation.count)) correct)")
        Console.out()
        Console.out(Self.confusionTable(evaluation))
        Console.out()
        Console.out(Self.classTable(evaluation))
    }

    /// The confusion matrix as an aligned table.
    static func confusionTable(_ e: Evaluation) -> String {
        let cell = max(5, String(e.confusion.flatMap { $0 }.max() ?? 0).count + 2)
        var lines = ["confusion matrix (rows: true digit, columns: predicted digit)"]
        lines.append(Format.pad("true\\pred", 10) + (0..<10).map { Format.pad(String($0), cell, right: true) }.joined()
                     + Format.pad("total", cell + 3, right: true))
        for t in 0..<10 {
            let row = e.confusion[t]
            lines.append(Format.pad(String(t), 10) + row.map { Format.pad(String($0), cell, right: true) }.joined()
                         + Format.pad(String(row.reduce(0, +)), cell + 3, right: true))
        }
        lines.append(Format.pad("total", 10) + e.predictedCounts.map { Format.pad(String($0), cell, right: true) }.joined()
                     + Format.pad(String(e.count), cell + 3, right: true))
        return lines.joined(separator: "\n")
    }

    /// Per-digit precision and recall.
    static func classTable(_ e: Evaluation) -> String {
        func pct(_ x: Double?) -> String { x.map { Format.percent($0) } ?? "-" }
        var lines = ["per-class precision and recall"]
        lines.append(Format.pad("digit", 7) + Format.pad("images", 9, right: true) + Format.pad("predicted", 11, right: true)
                     + Format.pad("precision", 11, right: true) + Format.pad("recall", 10, right: true))
        let precision = e.precision, recall = e.recall, support = e.support, predicted = e.predictedCounts
        for d in 0..<10 {
            lines.append(Format.pad(String(d), 7) + Format.pad(String(support[d]), 9, right: true)
                         + Format.pad(String(predicted[d]), 11, right: true)
                         + Format.pad(pct(precision[d]), 11, right: true) + Format.pad(pct(recall[d]), 10, right: true))
        }
        return lines.joined(separator: "\n")
    }

    /// The first `limit` misclassified images, and how many there are in all.
    static func misclassified(model: Model, dataset: Dataset, limit: Int) throws -> ([ErrorGrid.Item], Int) {
        var items: [ErrorGrid.Item] = []
        var total = 0
        let labels = dataset.labels
        let chunk = 1000
        try dataset.withUnsafePixels { pixels in
            for start in stride(from: 0, to: dataset.count, by: chunk) {
                let n = min(chunk, dataset.count - start)
                let slice = UnsafeBufferPointer(rebasing: pixels[start * Image.pixelCount ..< (start + n) * Image.pixelCount])
                for (i, prediction) in try model.predict(slice).enumerated() {
                    let actual = Int(labels[start + i])
                    guard prediction.digit != actual else { continue }
                    total += 1
                    if items.count < limit {
                        items.append(.init(image: dataset[start + i].image, actual: actual, predicted: prediction.digit))
                    }
                }
            }
        }
        return (items, total)
    }
}
