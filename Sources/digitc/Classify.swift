import ArgumentParser
import Digit
import Dispatch
import Foundation
import Synchronization

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recognise the digit in PNG images.",
        discussion: """
            Each image is made gray, its ink made bright, cropped to the ink,
            scaled to 20 pixels and centred in 28x28 the MNIST way, then classified.
            Prints one line per file, e.g. "digit.png: 7 (99.8%)". A file that
            cannot be used (missing, not a PNG, no ink) is reported on standard
            error; the others are still classified, and the exit status is 2.

            Examples:
              digitc classify digit.png
              digitc classify --top 3 scans/*.png
              digitc classify --json digit.png
              digitc classify --show-input seen.png digit.png     # the 28x28 input the model saw
              digitc classify --show-input inputs/ a.png b.png    # inputs/a.input.png, inputs/b.input.png
            """)

    @Argument(help: ArgumentHelp("PNG files to classify.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("Model file (default: $DIGIT_MODEL, else the shipped \(Locations.defaultModelName)).", valueName: "file"))
    var model: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("List the K most likely digits with their probabilities.", valueName: "k"))
    var top: Int?

    @Flag(help: "Print one JSON object per line instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Write the preprocessed 28x28 input as PNG: to this file for one input, into this directory (as <name>.input.png) for several.", valueName: "path"))
    var showInput: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one PNG file to classify") }
        if let top, !(1...10).contains(top) { throw ValidationError("--top must be 1...10, not \(top)") }
        if let showInput, showInput.isEmpty { throw ValidationError("--show-input needs a path") }
    }

    func run() throws {
        let model = try Model(contentsOf: Locations.model(model))

        // Decode and preprocess in parallel, then classify in one batch.
        let results = Mutex([Result<Image, Error>?](repeating: nil, count: files.count))
        let paths = files
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            let result = Result { try Image(contentsOf: URL(fileURLWithPath: paths[i])) }
            results.withLock { $0[i] = result }
        }
        let decoded = results.withLock { $0.map { $0! } }
        let images = decoded.compactMap { try? $0.get() }
        var predictions = try model.predict(images)[...]

        var failed = false
        let inputTarget = try showInput.map { try InputTarget($0, fileCount: files.count) }
        for (file, result) in zip(files, decoded) {
            let image: Image
            switch result {
            case .success(let value):
                image = value
            case .failure(let error):
                failed = true
                Console.error(Self.describe(error, file: file))
                continue
            }
            let prediction = predictions.removeFirst()
            Console.out(json ? jsonLine(file: file, prediction) : textLine(file: file, prediction))
            if let inputTarget {
                let url = inputTarget.url(for: file)
                do {
                    try image.savePNG(to: url)
                } catch {
                    failed = true
                    Console.error("cannot write the input of \(file): \(error)")
                }
            }
        }
        if failed { throw ExitCode(ExitStatus.data) }
    }

    /// The error message for `file`, which names it once.
    static func describe(_ error: Error, file: String) -> String {
        let message = (error as? DigitError)?.description ?? "\(error)"
        return message.contains(file) ? message : "\(file): \(message)"
    }

    func textLine(file: String, _ p: Prediction) -> String {
        guard let top else { return "\(file): \(p.digit) (\(Format.percent(Double(p.confidence), 1)))" }
        let list = p.top(top).map { "\($0.digit) (\(Format.percent(Double($0.probability), 1)))" }
        return "\(file): " + list.joined(separator: ", ")
    }

    func jsonLine(file: String, _ p: Prediction) -> String {
        var fields = [
            "\"file\":\(JSON.string(file))",
            "\"digit\":\(p.digit)",
            "\"confidence\":\(JSON.number(p.confidence))",
            "\"probabilities\":[\(p.probabilities.map(JSON.number).joined(separator: ","))]",
        ]
        if let top {
            let list = p.top(top).map { "{\"digit\":\($0.digit),\"probability\":\(JSON.number($0.probability))}" }
            fields.append("\"top\":[\(list.joined(separator: ","))]")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Where --show-input writes: one file, or a directory of <name>.input.png.
    struct InputTarget {
        let path: URL
        let isDirectory: Bool

        init(_ option: String, fileCount: Int) throws {
            path = URL(fileURLWithPath: Locations.expandingTilde(option))
            var existingDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path.path, isDirectory: &existingDirectory)
            isDirectory = fileCount > 1 || option.hasSuffix("/") || (exists && existingDirectory.boolValue)
            if isDirectory {
                do {
                    try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
                } catch {
                    throw CLIError("--show-input: cannot create the directory \(option): \(error.localizedDescription)")
                }
            }
        }

        func url(for file: String) -> URL {
            guard isDirectory else { return path }
            let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            return path.appendingPathComponent(name + ".input.png")
        }
    }
}

/// Minimal JSON writing for the one-line records.
enum JSON {
    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The shortest text that reads back as the same Float; JSON has no
    /// NaN or infinity, so those become null.
    static func number(_ x: Float) -> String {
        x.isFinite ? "\(x)" : "null"
    }
}
