import ArgumentParser
import Digit
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on MNIST and save it with its metrics.",
        discussion: """
            Options not given take the architecture's defaults (basic: Adam 0.001,
            batches of 64, 10 epochs; compact: the same with the learning rate
            times 0.01 after epochs 5 and 8). MNIST is read from --data or
            $DIGIT_DATA exactly as it is there (missing files are an error; --fetch
            downloads them); without either, from the per-user cache, which is
            fetched into when it lacks files.

            Written next to --output (default model.safetensors), with <stem> the
            output path without .safetensors:
              <stem>.checkpoint.safetensors  training state after every epoch
              <stem>.metrics.csv, <stem>.metrics.json  per-epoch loss and accuracy
              <stem>.svg                     a chart of training loss and test accuracy

            Ctrl-C stops after the current batch, writes the checkpoint and prints
            the command that resumes the run (exit status 130); a resumed run ends
            with the same model, bit for bit, as one never interrupted.

            Examples:
              digitc train
              digitc train --arch compact --epochs 12 --output compact.safetensors
              digitc train --epochs 1 --limit 5000 --log-every 10
              digitc train --output model.safetensors --resume model.checkpoint.safetensors
            """)

    @Option(help: ArgumentHelp("Architecture: \(Preset.allCases.map(\.rawValue).joined(separator: " or ")) (default: basic, or the checkpoint's with --resume).", valueName: "name"))
    var arch: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Passes over the training set (default: 10).", valueName: "n"))
    var epochs: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Images per mini-batch (default: 64).", valueName: "n"))
    var batchSize: Int?

    @Option(name: .customLong("lr"), parsing: .unconditional, help: ArgumentHelp("Adam learning rate (default: 0.001).", valueName: "x"))
    var learningRate: Double?

    @Option(help: ArgumentHelp("Comma-separated epochs after which the learning rate is multiplied by --gamma, or 'none' (default: the architecture's).", valueName: "list"))
    var milestones: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Learning-rate factor at each milestone (default: the architecture's).", valueName: "x"))
    var gamma: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of the initial weights and the shuffling order (default: 1).", valueName: "n"))
    var seed: UInt64?

    @Option(parsing: .unconditional, help: ArgumentHelp("Worker threads; 0 uses all cores (default: 0).", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("MNIST directory, read as it is (default: $DIGIT_DATA, else the per-user cache, fetched into when empty).", valueName: "dir"))
    var data: String?

    @Flag(help: "Download the MNIST files missing from --data (or $DIGIT_DATA); existing files are never replaced.")
    var fetch = false

    @Option(help: ArgumentHelp("Where to save the trained model.", valueName: "file"))
    var output: String = "model.safetensors"

    @Option(parsing: .unconditional, help: ArgumentHelp("Log a line every N batches when standard error is not a terminal.", valueName: "n"))
    var logEvery: Int = 100

    @Option(help: ArgumentHelp("Continue from this checkpoint, written by a run with the same options.", valueName: "file"))
    var resume: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Train on the first N training images only (for quick runs).", valueName: "n"))
    var limit: Int?

    /// --milestones parsed; nil when not given.
    private var milestoneList: [Int]? {
        get throws {
            guard let milestones else { return nil }
            let text = milestones.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text == "none" { return [] }
            return try text.split(separator: ",").map { part in
                guard let v = Int(part.trimmingCharacters(in: .whitespaces)), v >= 1 else {
                    throw ValidationError("--milestones: '\(part)' is not a positive epoch number")
                }
                return v
            }
        }
    }

    func validate() throws {
        if let arch, Preset(rawValue: arch) == nil {
            throw ValidationError("unknown architecture '\(arch)' for --arch (known: \(Preset.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let epochs, !(1...100_000).contains(epochs) {
            throw ValidationError("--epochs must be 1...100000, not \(epochs)")
        }
        if let batchSize, !(1...65_536).contains(batchSize) {
            throw ValidationError("--batch-size must be 1...65536, not \(batchSize)")
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) {
            throw ValidationError("--lr must be a positive number, not \(learningRate)")
        }
        if let gamma, !(gamma > 0 && gamma.isFinite) {
            throw ValidationError("--gamma must be a positive number, not \(gamma)")
        }
        if let list = try milestoneList {
            if list.count > 16 { throw ValidationError("--milestones: at most 16 epochs, not \(list.count)") }
            if zip(list, list.dropFirst()).contains(where: { $0 >= $1 }) {
                throw ValidationError("--milestones must be increasing: \(milestones!)")
            }
        }
        if let threads, !(0...1024).contains(threads) {
            throw ValidationError("--threads must be 0...1024, not \(threads)")
        }
        if logEvery < 1 { throw ValidationError("--log-every must be at least 1, not \(logEvery)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, not \(limit)") }
        if output.isEmpty || output.hasSuffix("/") {
            throw ValidationError("--output must name a file, not '\(output)'")
        }
    }

    /// The arguments with any `--resume FILE` / `--resume=FILE` removed.
    static func argumentsWithout(resume arguments: ArraySlice<String>) -> [String] {
        var result: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext { skipNext = false; continue }
            if argument == "--resume" { skipNext = true; continue }
            if argument.hasPrefix("--resume=") { continue }
            result.append(argument)
        }
        return result
    }

    func run() throws {
        // Paths.
        let outputURL = URL(fileURLWithPath: Locations.expandingTilde(output))
        let stem = outputURL.pathExtension == "safetensors" ? outputURL.deletingPathExtension() : outputURL
        func sibling(_ suffix: String) -> URL { URL(fileURLWithPath: stem.path + suffix) }
        let checkpointURL = sibling(".checkpoint.safetensors")
        let csvURL = sibling(".metrics.csv"), jsonURL = sibling(".metrics.json"), svgURL = sibling(".svg")
        let resumeURL = try resume.map { try Locations.existingFile($0, what: "checkpoint") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: outputURL.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError("--output \(output): is a directory; name the model file, e.g. \(output)/model.safetensors")
        }
        let outputDir = outputURL.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: outputDir, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create the output directory \(outputDir.path): \(error.localizedDescription)")
        }

        // Data.
        let dataLocation = Locations.dataDirectory(data)
        try Locations.ensureMNIST(in: dataLocation, fetch: fetch)
        let dataDir = dataLocation.url
        var trainSet = try Dataset(mnistDirectory: dataDir, split: .train)
        let testSet = try Dataset(mnistDirectory: dataDir, split: .test)
        if let limit, limit < trainSet.count { trainSet = try trainSet.prefix(count: limit) }

        // Model and options.
        let preset: Preset
        if let arch {
            preset = Preset(rawValue: arch)!
        } else if let resumeURL {
            preset = try Model(contentsOf: resumeURL).preset
        } else {
            preset = .basic
        }
        let seed = self.seed ?? 1
        let model = try Model(preset: preset, seed: seed)
        var options = TrainingOptions(preset: preset)
        if let epochs { options.epochs = epochs }
        if let batchSize { options.batchSize = batchSize }
        if let learningRate { options.learningRate = learningRate }
        if let list = try milestoneList { options.milestones = list }
        if let gamma { options.gamma = gamma }
        options.seed = seed
        if let threads { options.threads = threads }
        options.checkpoint = checkpointURL

        let earlier = resumeURL == nil ? [] : MetricsFiles.readCSV(csvURL)
        let reporter = ProgressReporter(terminal: Console.stderrIsTerminal, logEvery: logEvery,
                                        batchSize: options.batchSize)
        var records: [EpochRecord] = []
        var firstEpoch: Int?
        func allRecords() -> [EpochRecord] {
            let cut = firstEpoch ?? Int.max
            return earlier.filter { $0.epoch < cut } + records
        }

        Console.note("training \(preset) (\(Format.grouped(model.parameterCount)) parameters) on \(Format.grouped(trainSet.count)) images, testing on \(Format.grouped(testSet.count)); \(options.epochs) epoch\(options.epochs == 1 ? "" : "s"), batch \(options.batchSize), lr \(options.learningRate)\(options.milestones.isEmpty ? "" : ", x\(options.gamma) after epochs \(options.milestones.map(String.init).joined(separator: ","))")")
        Interrupt.install()
        defer { Interrupt.uninstall() }
        var lastBatch: BatchProgress?
        do {
            try model.train(on: trainSet, test: testSet, options: options, resumingFrom: resumeURL) { event in
                switch event {
                case .batch(let b):
                    if firstEpoch == nil { firstEpoch = b.epoch }
                    lastBatch = b
                    reporter.batch(b)
                case .epoch(let e):
                    reporter.epoch(e)
                    records.append(EpochRecord(e))
                    // Keep the CSV current, so an interrupted run keeps its history.
                    try? MetricsFiles.write(Data(MetricsFiles.csv(allRecords()).utf8), to: csvURL)
                }
                return Interrupt.requested ? .stop : .continue
            }
        } catch let error as DigitError where error.isCancellation {
            reporter.finishLine()
            let command = (["digitc"] + Train.argumentsWithout(resume: CommandLine.arguments.dropFirst())
                           + ["--resume", Format.path(checkpointURL)]).map(Format.shellQuoted).joined(separator: " ")
            let where_ = lastBatch.map { "epoch \($0.epoch), batch \($0.batch)/\($0.batchesPerEpoch)" } ?? "the start"
            Console.note("interrupted at \(where_); checkpoint written to \(Format.path(checkpointURL))")
            Console.note("resume with: \(command)")
            throw ExitCode(ExitStatus.interrupted)
        }
        reporter.finishLine()

        // Results.
        let history = allRecords()
        var testLoss = history.last?.testLoss, testAccuracy = history.last?.testAccuracy
        if testLoss == nil {  // nothing left to train after a resume: measure the model as it is
            let evaluation = try model.evaluate(on: testSet)
            testLoss = evaluation.loss
            testAccuracy = evaluation.accuracy
        }
        let trainedAt = ISO8601DateFormatter().string(from: Date())
        try model.setMetadata([
            (key: "trained_with", value: Format.commandLine),
            (key: "trained_at", value: trainedAt),
            (key: "test_accuracy", value: String(format: "%.4f", testAccuracy ?? .nan)),
            (key: "test_loss", value: String(format: "%.4f", testLoss ?? .nan)),
            (key: "epochs", value: String(options.epochs)),
            (key: "seed", value: String(seed)),
            (key: "train_images", value: String(trainSet.count)),
        ])
        try model.save(to: outputURL)

        let document = MetricsDocument(
            model: outputURL.lastPathComponent, architecture: preset.rawValue,
            trainedWith: Format.commandLine, trainedAt: trainedAt,
            trainImages: trainSet.count, testImages: testSet.count,
            options: .init(epochs: options.epochs, batchSize: options.batchSize, learningRate: options.learningRate,
                           milestones: options.milestones, gamma: options.gamma, seed: options.seed,
                           threads: options.threads),
            testLoss: testLoss, testAccuracy: testAccuracy, epochs: history)
        try MetricsFiles.write(Data(MetricsFiles.csv(history).utf8), to: csvURL)
        try MetricsFiles.write(try MetricsFiles.json(document), to: jsonURL)
        let title = "digitc train: \(preset), \(Format.grouped(trainSet.count)) images, \(options.epochs) epoch\(options.epochs == 1 ? "" : "s")"
        try MetricsFiles.write(Data(TrainingChart(title: title, records: history).svg().utf8), to: svgURL)

        if let testAccuracy, let testLoss {
            Console.out("test accuracy \(Format.percent(testAccuracy)), test loss \(Format.fixed(testLoss, 4))")
        }
        Console.out("wrote \(Format.path(outputURL))")
        Console.out("wrote \(Format.path(checkpointURL))")
        Console.out("wrote \(Format.path(csvURL))")
        Console.out("wrote \(Format.path(jsonURL))")
        Console.out("wrote \(Format.path(svgURL))")
    }
}

/// Shows training progress on standard error: a redrawn bar on a terminal,
/// plain log lines otherwise.
final class ProgressReporter {
    let terminal: Bool
    let logEvery: Int
    let batchSize: Int
    /// When the current epoch began: made when training starts, then reset
    /// at the end of each epoch.
    private var epochStart = Date()
    private var lossSum = 0.0
    private var losses = 0
    private var lastDraw = Date.distantPast
    private var lineOpen = false

    init(terminal: Bool, logEvery: Int, batchSize: Int) {
        self.terminal = terminal
        self.logEvery = logEvery
        self.batchSize = batchSize
    }

    func batch(_ b: BatchProgress) {
        if losses == 0 { lossSum = 0 }  // the first batch of an epoch (or of a resumed one)
        lossSum += Double(b.loss)
        losses += 1
        let average = lossSum / Double(losses)
        if terminal {
            let now = Date()
            guard b.batch == b.batchesPerEpoch || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            let elapsed = now.timeIntervalSince(epochStart)
            // Images trained on since this reporter started the epoch (a
            // resumed epoch starts part-way).
            let seen = Double(losses * batchSize)
            let rate = elapsed > 0 ? seen / elapsed : 0
            let left = Double(b.batchesPerEpoch - b.batch) * Double(batchSize)
            let eta = rate > 0 ? left / rate : .nan
            let width = 24
            let filled = Int((Double(b.batch) / Double(b.batchesPerEpoch) * Double(width)).rounded(.down))
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1))
            let line = "epoch \(b.epoch) [\(bar)] \(b.batch)/\(b.batchesPerEpoch) loss \(Format.fixed(average, 4)) \(Int(rate)) img/s ETA \(Format.duration(eta))"
            Console.standardError.write("\r" + line + "\u{1B}[K")
            lineOpen = true
        } else if b.batch % logEvery == 0 || b.batch == b.batchesPerEpoch {
            Console.standardError.write("epoch \(b.epoch) batch \(b.batch)/\(b.batchesPerEpoch) loss \(Format.fixed(average, 4))\n")
        }
    }

    func epoch(_ e: EpochProgress) {
        finishLine()
        var parts = ["train loss \(Format.fixed(e.trainLoss, 4))"]
        if let loss = e.testLoss { parts.append("test loss \(Format.fixed(loss, 4))") }
        if let accuracy = e.testAccuracy { parts.append("test accuracy \(Format.percent(accuracy))") }
        parts.append(String(format: "%.1f s", e.seconds))
        Console.standardError.write("epoch \(e.epoch): \(parts.joined(separator: ", "))\n")
        losses = 0
        epochStart = Date()
    }

    /// Ends a progress bar line so that the next output starts afresh.
    func finishLine() {
        if lineOpen {
            Console.standardError.write("\r\u{1B}[K")
            lineOpen = false
        }
    }
}
