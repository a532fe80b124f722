// SPDX-License-Identifier: MIT
import ArgumentParser
import DigitJSON
import Dispatch
import Foundation
import Synchronization

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recognise the digit in images.",
        discussion: """
            Each image is made gray, its ink made bright, cropped to the ink,
            scaled to 20 pixels and centred in 28x28 the MNIST way, then classified.
            Prints one line per image, e.g. "digit.png: 7 (99.8%)".

            A directory stands for every image inside it, recursively, in sorted
            order; files are chosen by content (PNG or JPEG), so others such as
            .DS_Store are skipped with a note. "-" reads one image from standard
            input. An input that cannot be used (missing, not an image, no ink) is
            reported on standard error (with --json, also as an error object); the
            others are still classified, and the exit status is 2.

            Examples:
              digitc classify digit.png
              digitc classify --top 3 scans/                       # every image under scans/
              cat digit.png | digitc classify -
              digitc classify --json digit.png
              digitc classify --min-confidence 0.9 scans/          # "unsure" under 90%
              digitc classify --show-input seen.png digit.png     # the 28x28 input the model saw
              digitc classify --show-input inputs/ a/1.png b/1.png # inputs/a/1.input.png, inputs/b/1.input.png
            """)

    @Argument(help: ArgumentHelp("Images (PNG), directories of images, or - for standard input.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("Model file (default: $DIGIT_MODEL, else the shipped \(Locations.defaultModelName)).", valueName: "file"))
    var model: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("List the K most likely digits with their probabilities.", valueName: "k"))
    var top: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Answer \"unsure\" when the best probability is under P (0...1).", valueName: "p"))
    var minConfidence: Double?

    @Flag(help: "Print one JSON object per input (JSON Lines) instead of text; failed inputs become error objects.")
    var json = false

    @Option(help: ArgumentHelp("Write the preprocessed 28x28 input as PNG: to this file for one input, into this directory (as <path>.input.png) for several.", valueName: "path"))
    var showInput: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one image, directory or - to classify") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read only once") }
        if let top, !(1...10).contains(top) { throw ValidationError("--top must be 1...10, not \(top)") }
        if let p = minConfidence, !(0...1).contains(p) { throw ValidationError("--min-confidence must be 0...1, not \(p)") }
        if let showInput, showInput.isEmpty { throw ValidationError("--show-input needs a path") }
    }

    /// How many candidates a JSON record lists without --top.
    static let defaultTop = 3

    func run() throws {
        let recognizer = try Recognizer(modelAt: Locations.model(model))
        let collected = InputCollector(note: Console.note).collect(files)
        let inputs = collected.compactMap { try? $0.get() }
        let seen = Self.preprocess(inputs)
        let predictions = try recognizer.predict(seen.compactMap { try? $0.get() })

        let targets = try showInput.map { try InputTarget($0, inputs: inputs) }
        var report = Report(command: self)
        var nextInput = 0, nextPrediction = 0
        for item in collected {
            let input: Input
            switch item {
            case .success(let value): input = value
            case .failure(let record):
                report.fail(record.file ?? "", record)
                continue
            }
            defer { nextInput += 1 }
            switch seen[nextInput] {
            case .failure(let error):
                report.fail(input.name, error)
            case .success(let value):
                let prediction = predictions[nextPrediction]
                nextPrediction += 1
                report.show(Recognizer.record(input.name, value, prediction, top: top ?? Self.defaultTop,
                                              minConfidence: minConfidence.map(Float.init)))
                if let url = targets?.url(at: nextInput) { report.save(value, of: input.name, to: url) }
            }
        }
        if report.failed { throw ExitCode(ExitStatus.data) }
    }

    /// Decodes and preprocesses in parallel: PNG decoding dominates for
    /// large scans, and every input is independent.
    static func preprocess(_ inputs: [Input]) -> [Result<Recognizer.Seen, any Error>] {
        let results = Mutex([Result<Recognizer.Seen, any Error>?](repeating: nil, count: inputs.count))
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
            let result = Result { try Recognizer.preprocess(inputs[i]) }
            results.withLock { $0[i] = result }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// The error message for `file`, which names it once.
    static func describe(_ error: any Error, file: String) -> String {
        let message = ErrorRecord(error: error).error.message
        return message.contains(file) ? message : "\(file): \(message)"
    }
}

/// Writes classify's results as text or JSON Lines and remembers failures.
struct Report {
    let json: Bool
    let top: Int?
    private(set) var failed = false

    init(command: Classify) {
        json = command.json
        top = command.top
    }

    mutating func show(_ record: ClassificationRecord) {
        Console.out(json ? Self.line(record) : text(record))
        if !json && !record.warnings.isEmpty {
            Console.note("\(record.file ?? ""): warning: \(record.warnings.joined(separator: ", "))")
        }
    }

    mutating func fail(_ name: String, _ error: any Error) {
        failed = true
        let message = Classify.describe(error, file: name)
        Console.error(message)
        if json { Console.out(Self.line(ErrorRecord(file: name, error: error))) }
    }

    mutating func save(_ seen: Recognizer.Seen, of name: String, to url: URL) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Recognizer.saveInput(seen, to: url)
        } catch {
            failed = true
            Console.error("cannot write the input of \(name): \(error)")
        }
    }

    func text(_ r: ClassificationRecord) -> String {
        func shown(_ c: ClassificationRecord.Candidate) -> String {
            "\(c.digit) (\(Format.percent(Double(c.probability), 1)))"
        }
        let file = r.file ?? ""
        if r.unsure {
            guard let top else { return "\(file): unsure (best \(r.digit), \(Format.percent(Double(r.confidence), 1)))" }
            return "\(file): unsure (best " + r.top.prefix(top).map(shown).joined(separator: ", ") + ")"
        }
        guard let top else { return "\(file): \(r.digit) (\(Format.percent(Double(r.confidence), 1)))" }
        return "\(file): " + r.top.prefix(top).map(shown).joined(separator: ", ")
    }

    static func line(_ value: some Encodable) -> String {
        // Encoding these plain records cannot fail: every number is finite.
        (try? RecordEncoding.line(value)) ?? "{}"
    }
}

/// Where --show-input writes: one file, or a directory of <path>.input.png
/// whose names stay apart for inputs of the same name in different folders.
struct InputTarget {
    private let urls: [URL]

    init(_ option: String, inputs: [Input]) throws {
        let path = URL(fileURLWithPath: Locations.expandingTilde(option))
        var existingDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path.path, isDirectory: &existingDirectory)
        let isDirectory = inputs.count > 1 || option.hasSuffix("/") || (exists && existingDirectory.boolValue)
        guard isDirectory else {
            urls = inputs.map { _ in path }
            return
        }
        do {
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        } catch {
            throw CLIError("--show-input: cannot create the directory \(option): \(error.localizedDescription)")
        }
        urls = Self.uniqueNames(for: inputs.map(\.name)).map { path.appendingPathComponent($0) }
    }

    func url(at index: Int) -> URL? { urls.indices.contains(index) ? urls[index] : nil }

    /// `<path>.input.png` for each input: a relative path that stays inside
    /// the current directory is mirrored (a/1.png → a/1.input.png), any other
    /// keeps its base name; a name already taken gets -2, -3, … appended.
    static func uniqueNames(for names: [String]) -> [String] {
        var used = Set<String>()
        return names.map { name in
            let stem = mirroredStem(name)
            var candidate = stem + ".input.png", n = 2
            while used.contains(candidate) {
                candidate = "\(stem)-\(n).input.png"
                n += 1
            }
            used.insert(candidate)
            return candidate
        }
    }

    static func mirroredStem(_ name: String) -> String {
        if name == Input.standardInputName { return "stdin" }
        let components = name.split(separator: "/").map(String.init).filter { $0 != "." }
        let mirrored = !name.hasPrefix("/") && !name.hasPrefix("~") && !components.contains("..")
        let kept = mirrored ? components : Array(components.suffix(1))
        let path = kept.joined(separator: "/")
        return (path as NSString).deletingPathExtension
    }
}
