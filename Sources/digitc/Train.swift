// SPDX-License-Identifier: MIT
import ArgumentParser
import Digit
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on MNIST and save it with its metrics.",
        discussion: """
            Options not given take the architecture's defaults (basic: Adam 0.001,
            batches of 64, 10 epochs; compact: the same with the learning rate
            times 0.01 after epochs 5 and 8; strong: batch norm and dropout, 12
            epochs of batch 128 under a one-cycle schedule peaking at 0.004, with
            augmentation rotate=10,scale=0.1,shift=0.08 and label smoothing 0.1;
            speedrun: one epoch of batch 256, one-cycle at 0.01, betas 0.7,0.9,
            label smoothing 0.1).
            MNIST is read from --data or $DIGIT_DATA exactly as it is there
            (missing files are an error; --fetch downloads them); without
            either, from the per-user cache, which is fetched into when it
            lacks files.

            --validation N holds out the last N training images and evaluates on
            them after every epoch instead of the test set (choose settings on
            it, not on the test set).

            Your own digits: --from MODEL starts from a trained model (its
            architecture and its weights) and --images DIR trains on your own
            labelled pictures instead of MNIST's training set, in folders named
            by their digit (DIR/0/..., DIR/1/..., ... DIR/9/..., as torchvision's
            ImageFolder has them), any format classify reads, preprocessed the
            same way; --mix-mnist N adds N MNIST training images to them, so the
            model does not forget the digits it knew. The MNIST test set is still
            what each epoch is scored on, and the run prints the accuracy on
            your pictures before and after.

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
              digitc train --arch strong --validation 5000
              digitc train --arch basic --augment rotate=15,scale=0.15,shift=0.1 --schedule cosine
              digitc train --arch strong --show-augmented augmented.png
              digitc train --from models/digit-basic.safetensors --images my-digits --mix-mnist 5000 --epochs 3 --output mine.safetensors
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

    @Option(help: ArgumentHelp("Random affine augmentation: 'none' or comma-separated rotate=DEGREES,scale=FRACTION,shift=FRACTION,shear=DEGREES; keys left out are 0 (default: the architecture's).", valueName: "list"))
    var augment: String?

    @Option(help: ArgumentHelp("Learning-rate schedule: multistep (--milestones, --gamma), onecycle (--pct-start, --div-factor, --final-div-factor, --cycle-momentum), cosine or exponential (--gamma per epoch) (default: the architecture's).", valueName: "name"))
    var schedule: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("One-cycle: fraction of the steps spent warming up (default: 0.3, strong 0.25).", valueName: "x"))
    var pctStart: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("One-cycle: the first rate is --lr divided by this (default: 25).", valueName: "x"))
    var divFactor: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("One-cycle: the last rate is the first divided by this (default: 1e4).", valueName: "x"))
    var finalDivFactor: Double?

    @Flag(inversion: .prefixedNo, help: "One-cycle: cycle Adam's beta1 between 0.95 and 0.85 against the rate, as PyTorch's default (default: off).")
    var cycleMomentum: Bool?

    @Option(help: ArgumentHelp("Adam's betas, 'b1,b2' (default: 0.9,0.999).", valueName: "b1,b2"))
    var betas: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Decoupled weight decay (AdamW) (default: 0).", valueName: "x"))
    var weightDecay: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Cross-entropy label smoothing, 0..1 (default: 0).", valueName: "x"))
    var labelSmoothing: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Hold out the last N training images and evaluate on them instead of the test set.", valueName: "n"))
    var validation: Int?

    @Option(name: .customLong("from"), help: ArgumentHelp("Start from this trained model: its architecture and weights (fine-tuning).", valueName: "file"))
    var startModel: String?

    @Option(help: ArgumentHelp("Train on your own pictures in DIR/0 ... DIR/9 instead of MNIST's training set.", valueName: "dir"))
    var images: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --images: add the first N MNIST training images to them (default: 0).", valueName: "n"))
    var mixMnist: Int?

    @Option(help: ArgumentHelp("Write a PNG grid of 64 augmented training images (epoch 1, as training sees them) and exit.", valueName: "file"))
    var showAugmented: String?

    /// --augment parsed; nil when not given.
    private var augmentation: TrainingOptions.Augmentation? {
        get throws {
            guard let augment else { return nil }
            let text = augment.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text == "none" { return TrainingOptions.Augmentation.none }
            var result = TrainingOptions.Augmentation()
            for part in text.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, let value = Double(pair[1]), value.isFinite else {
                    throw ValidationError("--augment: '\(part)' is not key=number")
                }
                switch pair[0] {
                case "rotate": result.rotate = value
                case "scale": result.scale = value
                case "shift": result.shift = value
                case "shear": result.shear = value
                default:
                    throw ValidationError("--augment: unknown key '\(pair[0])' (known: rotate, scale, shift, shear)")
                }
            }
            return result
        }
    }

    /// --schedule parsed; nil when not given.
    private var scheduleValue: TrainingOptions.Schedule? {
        get throws {
            guard let schedule else { return nil }
            guard let value = TrainingOptions.Schedule(rawValue: schedule) else {
                throw ValidationError("--schedule: unknown schedule '\(schedule)' (known: \(TrainingOptions.Schedule.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return value
        }
    }

    /// --betas parsed; nil when not given.
    private var betaPair: (Double, Double)? {
        get throws {
            guard let betas else { return nil }
            let parts = betas.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let b1 = parts[0], let b2 = parts[1] else {
                throw ValidationError("--betas: '\(betas)' is not two comma-separated numbers")
            }
            return (b1, b2)
        }
    }

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
        // The training options' rules are the library's: ask it about each
        // flag given, alone on the preset's defaults, so that the message
        // can name the flag.
        let preset = Preset(rawValue: arch ?? "") ?? .basic
        let milestones = try milestoneList
        let given: [(flag: String, apply: ((inout TrainingOptions) -> Void)?)] = [
            ("--epochs", epochs.map { v in { $0.epochs = v } }),
            ("--batch-size", batchSize.map { v in { $0.batchSize = v } }),
            ("--lr", learningRate.map { v in { $0.learningRate = v } }),
            ("--milestones", milestones.map { v in { $0.milestones = v } }),
            ("--gamma", gamma.map { v in { $0.gamma = v } }),
            ("--threads", threads.map { v in { $0.threads = v } }),
            ("--augment", try augmentation.map { v in { $0.augmentation = v } }),
            ("--schedule", try scheduleValue.map { v in { $0.schedule = v } }),
            ("--pct-start", pctStart.map { v in { $0.pctStart = v } }),
            ("--div-factor", divFactor.map { v in { $0.divFactor = v } }),
            ("--final-div-factor", finalDivFactor.map { v in { $0.finalDivFactor = v } }),
            ("--betas", try betaPair.map { v in { $0.beta1 = v.0; $0.beta2 = v.1 } }),
            ("--weight-decay", weightDecay.map { v in { $0.weightDecay = v } }),
            ("--label-smoothing", labelSmoothing.map { v in { $0.labelSmoothing = v } }),
        ]
        for (flag, apply) in given {
            guard let apply else { continue }
            var options = TrainingOptions(preset: preset)
            apply(&options)
            do { try options.validate() } catch let error as DigitError {
                throw ValidationError("\(flag): \(error.message)")
            }
        }
        if logEvery < 1 { throw ValidationError("--log-every must be at least 1, not \(logEvery)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, not \(limit)") }
        if let validation, validation < 1 || validation >= 60000 {
            throw ValidationError("--validation must be 1..59999, not \(validation)")
        }
        // A schedule's own parameters with another schedule are a mistake.
        let effective = try scheduleValue ?? TrainingOptions(preset: preset).schedule
        if effective != .oneCycle, pctStart != nil || divFactor != nil || finalDivFactor != nil || cycleMomentum != nil {
            throw ValidationError("--pct-start, --div-factor, --final-div-factor and --cycle-momentum need --schedule onecycle (this run: \(effective.rawValue))")
        }
        if effective != .multistep, milestones != nil {
            throw ValidationError("--milestones needs --schedule multistep (this run: \(effective.rawValue))")
        }
        if effective == .multistep, let epochs, let last = milestones?.last, last > epochs {
            throw ValidationError("--milestones: epoch \(last) is past the run's \(epochs) epochs")
        }
        if images == nil, mixMnist != nil { throw ValidationError("--mix-mnist needs --images") }
        if images != nil, limit != nil { throw ValidationError("--limit cannot be used with --images (--mix-mnist sets how much of MNIST to add)") }
        if let mixMnist, mixMnist < 0 { throw ValidationError("--mix-mnist must be 0 or more, not \(mixMnist)") }
        if output.isEmpty || output.hasSuffix("/") {
            throw ValidationError("--output must name a file, not '\(output)'")
        }
    }

    /// The preset's defaults with the options given on the command line.
    func options(for preset: Preset) throws -> TrainingOptions {
        var options = TrainingOptions(preset: preset)
        if let epochs { options.epochs = epochs }
        if let batchSize { options.batchSize = batchSize }
        if let learningRate { options.learningRate = learningRate }
        if let list = try milestoneList { options.milestones = list }
        if let gamma { options.gamma = gamma }
        options.seed = seed ?? 1
        if let threads { options.threads = threads }
        if let augmentation = try augmentation { options.augmentation = augmentation }
        if let schedule = try scheduleValue { options.schedule = schedule }
        if let pctStart { options.pctStart = pctStart }
        if let divFactor { options.divFactor = divFactor }
        if let finalDivFactor { options.finalDivFactor = finalDivFactor }
        if let cycleMomentum { options.cycleMomentum = cycleMomentum }
        if let b = try betaPair { options.beta1 = b.0; options.beta2 = b.1 }
        if let weightDecay { options.weightDecay = weightDecay }
        if let labelSmoothing { options.labelSmoothing = labelSmoothing }
        return options
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
        let files = try OutputFiles(output: output)
        let resumeURL = try resume.map { try Locations.existingFile($0, what: "checkpoint") }
        let startURL = try startModel.map { try Locations.existingFile($0, what: "model") }
        let startingModel = try startURL.map { try Model(contentsOf: $0) }
        var data = try loadData()
        let own = try images.map { try ownPictures(in: $0) }
        if let own { data.train = try mixed(own, with: data.train) }
        let preset = try choosePreset(resuming: resumeURL, startingFrom: startingModel)
        if let showAugmented {
            try writeAugmentedGrid(of: data.train, options: try options(for: preset), to: showAugmented)
            return
        }
        let model = try startingModel ?? Model(preset: preset, seed: seed ?? 1)
        let ownBefore = try own.map { try model.evaluate(on: $0).accuracy }
        var options = try options(for: preset)
        options.checkpoint = files.checkpoint
        Console.note("training \(preset) (\(Format.grouped(model.parameterCount)) parameters) on \(Format.grouped(data.train.count)) images, testing on \(Format.grouped(data.test.count)); \(options.epochs) epoch\(options.epochs == 1 ? "" : "s"), batch \(options.batchSize), lr \(options.learningRate)\(options.milestones.isEmpty ? "" : ", x\(options.gamma) after epochs \(options.milestones.map(String.init).joined(separator: ","))")")
        let earlier = resumeURL == nil ? [] : MetricsFiles.readCSV(files.csv)
        let history = try trainReportingProgress(model, data: data, options: options, resumingFrom: resumeURL,
                                                 files: files, earlier: earlier)
        let result = try finalScore(of: model, history: history, test: data.test)
        if let own, let ownBefore {
            let after = try model.evaluate(on: own).accuracy
            Console.note("your \(Format.grouped(own.count)) pictures: \(Format.percent(ownBefore)) right before training, \(Format.percent(after)) after")
        }
        try saveModel(model, options: options, result: result, trainImages: data.train.count, to: files.model)
        let wallTime = ProcessClock.secondsSinceStart
        try writeMetrics(files: files, preset: preset, options: options, data: data, result: result, history: history)
        printSummary(files: files, result: result, wallTime: wallTime)
    }

    // MARK: The steps of a run

    /// Where a run writes: the model and its siblings named after --output.
    struct OutputFiles {
        let model, checkpoint, csv, json, svg: URL

        init(output: String) throws {
            model = URL(fileURLWithPath: Locations.expandingTilde(output))
            let stem = model.pathExtension == "safetensors" ? model.deletingPathExtension() : model
            func sibling(_ suffix: String) -> URL { URL(fileURLWithPath: stem.path + suffix) }
            checkpoint = sibling(".checkpoint.safetensors")
            csv = sibling(".metrics.csv")
            json = sibling(".metrics.json")
            svg = sibling(".svg")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: model.path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CLIError("--output \(output): is a directory; name the model file, e.g. \(output)/model.safetensors")
            }
            let directory = model.deletingLastPathComponent()
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw CLIError("cannot create the output directory \(directory.path): \(error.localizedDescription)")
            }
        }
    }

    /// The training set (cut to --limit) and the set evaluated after each
    /// epoch: the test set, or with --validation the last N training images
    /// (held out of training; --limit then applies to the rest).
    func loadData() throws -> (train: Dataset, test: Dataset) {
        let dataLocation = Locations.dataDirectory(data)
        try Locations.ensureMNIST(in: dataLocation, fetch: fetch)
        let dataDir = dataLocation.url
        var trainSet = try Dataset(mnistDirectory: dataDir, split: .train)
        var testSet = try Dataset(mnistDirectory: dataDir, split: .test)
        if let validation {
            guard validation < trainSet.count else {
                throw CLIError("--validation \(validation) leaves no training images (the set has \(trainSet.count))")
            }
            let cut = trainSet.count - validation
            testSet = try trainSet.slice(cut..<trainSet.count)
            trainSet = try trainSet.prefix(count: cut)
            Console.note("holding out training images \(cut)..<\(cut + validation) for validation; the test set is not used")
        }
        if let limit, limit < trainSet.count { trainSet = try trainSet.prefix(count: limit) }
        return (trainSet, testSet)
    }

    /// --images: the user's labelled pictures, with how many of each digit.
    func ownPictures(in path: String) throws -> Dataset {
        let url = URL(fileURLWithPath: Locations.expandingTilde(path))
        let own = try Dataset(imageFolder: url)
        var perDigit = [Int](repeating: 0, count: 10)
        for label in own.labels { perDigit[Int(label)] += 1 }
        let counts = perDigit.enumerated().filter { $0.element > 0 }.map { "\($0.offset): \($0.element)" }
        Console.note("read \(Format.grouped(own.count)) pictures from \(Format.path(url)) (\(counts.joined(separator: ", ")))")
        return own
    }

    /// The training set of an --images run: the pictures, then --mix-mnist
    /// MNIST training images.
    func mixed(_ own: Dataset, with mnist: Dataset) throws -> Dataset {
        let n = min(mixMnist ?? 0, mnist.count)
        return n == 0 ? own : try own.appending(try mnist.prefix(count: n))
    }

    /// --show-augmented: the first 64 training images as epoch 1 shows
    /// them, an 8 x 8 grid with a 2-pixel gap, scaled up 2x.
    func writeAugmentedGrid(of train: Dataset, options: TrainingOptions, to path: String) throws {
        let n = min(64, train.count), side = 28, columns = 8, gap = 2, zoom = 2
        let rows = (n + columns - 1) / columns
        let pixels = try options.augmentedImages(of: train, count: n)
        let cell = side * zoom + gap
        let width = columns * cell + gap, height = rows * cell + gap
        var grid = [UInt8](repeating: 64, count: width * height)
        for i in 0..<n {
            let x0 = gap + (i % columns) * cell, y0 = gap + (i / columns) * cell
            for y in 0..<(side * zoom) {
                for x in 0..<(side * zoom) {
                    grid[(y0 + y) * width + x0 + x] = pixels[i * side * side + (y / zoom) * side + x / zoom]
                }
            }
        }
        let url = URL(fileURLWithPath: Locations.expandingTilde(path))
        try Image.savePNG(gray: grid, width: width, height: height, to: url)
        let a = options.augmentation
        Console.out("wrote \(Format.path(url)): \(n) training images, augmented with rotate=\(a.rotate),scale=\(a.scale),shift=\(a.shift),shear=\(a.shear)")
    }

    /// --arch, else the checkpoint's or the --from model's architecture,
    /// else basic.
    func choosePreset(resuming resumeURL: URL?, startingFrom start: Model?) throws -> Preset {
        let resumed = try resumeURL.map { try Checkpoint(contentsOf: $0).preset }
        if let start, let startModel {
            let other = arch.flatMap(Preset.init(rawValue:)) ?? resumed
            if let other, other != start.preset {
                throw CLIError("--from \(startModel): the model is a \(start.preset), not a \(other); leave out --arch to fine-tune it",
                               exitCode: ExitStatus.usage)
            }
            return start.preset
        }
        if let arch, let preset = Preset(rawValue: arch) {
            if let resumed, resumed != preset, let resumeURL {
                throw CLIError("--arch \(arch): the checkpoint \(Format.path(resumeURL)) is of a \(resumed) run; resume it with --arch \(resumed) or without --arch",
                               exitCode: ExitStatus.usage)
            }
            return preset
        }
        return resumed ?? .basic
    }

    /// Trains with a progress display, keeping the metrics CSV current; on
    /// Ctrl-C prints how to resume and exits with status 130. Returns the
    /// epochs' records, those of the run resumed from included.
    func trainReportingProgress(_ model: Model, data: (train: Dataset, test: Dataset), options: TrainingOptions,
                                resumingFrom resumeURL: URL?, files: OutputFiles,
                                earlier: [EpochRecord]) throws -> [EpochRecord] {
        let reporter = ProgressReporter(terminal: Console.stderrIsTerminal, logEvery: logEvery,
                                        batchSize: options.batchSize)
        var records: [EpochRecord] = []
        var firstEpoch: Int?
        func allRecords() -> [EpochRecord] {
            let cut = firstEpoch ?? Int.max
            return earlier.filter { $0.epoch < cut } + records
        }
        Interrupt.install()
        defer { Interrupt.uninstall() }
        var lastBatch: BatchProgress?
        do {
            try model.train(on: data.train, test: data.test, options: options, resumingFrom: resumeURL) { event in
                switch event {
                case .batch(let b):
                    if firstEpoch == nil { firstEpoch = b.epoch }
                    lastBatch = b
                    reporter.batch(b)
                case .epoch(let e):
                    reporter.epoch(e)
                    records.append(EpochRecord(e))
                    // Keep the CSV current, so an interrupted run keeps its history.
                    try? MetricsFiles.write(Data(MetricsFiles.csv(allRecords()).utf8), to: files.csv)
                }
                return Interrupt.requested ? .stop : .continue
            }
        } catch let error as DigitError where error.isCancellation {
            reporter.finishLine()
            reportInterruption(at: lastBatch, checkpoint: files.checkpoint)
            throw ExitCode(ExitStatus.interrupted)
        }
        reporter.finishLine()
        return allRecords()
    }

    /// Says where the run stopped and the command that resumes it.
    func reportInterruption(at lastBatch: BatchProgress?, checkpoint: URL) {
        let command = (["digitc"] + Train.argumentsWithout(resume: CommandLine.arguments.dropFirst())
                       + ["--resume", Format.path(checkpoint)]).map(Format.shellQuoted).joined(separator: " ")
        let position = lastBatch.map { "epoch \($0.epoch), batch \($0.batch)/\($0.batchesPerEpoch)" } ?? "the start"
        Console.note("interrupted at \(position); checkpoint written to \(Format.path(checkpoint))")
        Console.note("resume with: \(command)")
    }

    /// The final test loss and accuracy, and when training ended.
    struct Result {
        let testLoss: Double?
        let testAccuracy: Double?
        let trainedAt: String
    }

    /// The last epoch's test figures; after a resume with nothing left to
    /// train, the model measured as it is.
    func finalScore(of model: Model, history: [EpochRecord], test: Dataset) throws -> Result {
        var testLoss = history.last?.testLoss, testAccuracy = history.last?.testAccuracy
        if testLoss == nil {
            let evaluation = try model.evaluate(on: test)
            testLoss = evaluation.loss
            testAccuracy = evaluation.accuracy
        }
        return Result(testLoss: testLoss, testAccuracy: testAccuracy,
                      trainedAt: ISO8601DateFormatter().string(from: Date()))
    }

    /// Records how the model was made in its metadata and saves it.
    func saveModel(_ model: Model, options: TrainingOptions, result: Result, trainImages: Int, to url: URL) throws {
        try model.setMetadata([
            (key: "trained_with", value: Format.commandLine),
            (key: "trained_at", value: result.trainedAt),
            (key: "test_accuracy", value: String(format: "%.4f", result.testAccuracy ?? .nan)),
            (key: "test_loss", value: String(format: "%.4f", result.testLoss ?? .nan)),
            (key: "epochs", value: String(options.epochs)),
            (key: "seed", value: String(options.seed)),
            (key: "train_images", value: String(trainImages)),
        ])
        try model.save(to: url)
    }

    /// The metrics CSV and JSON and the SVG chart.
    func writeMetrics(files: OutputFiles, preset: Preset, options: TrainingOptions,
                      data: (train: Dataset, test: Dataset), result: Result, history: [EpochRecord]) throws {
        let document = MetricsDocument(
            model: files.model.lastPathComponent, architecture: preset.rawValue,
            trainedWith: Format.commandLine, trainedAt: result.trainedAt,
            trainImages: data.train.count, testImages: data.test.count,
            options: .init(epochs: options.epochs, batchSize: options.batchSize, learningRate: options.learningRate,
                           milestones: options.milestones, gamma: options.gamma, seed: options.seed,
                           threads: options.threads),
            testLoss: result.testLoss, testAccuracy: result.testAccuracy, epochs: history)
        try MetricsFiles.write(Data(MetricsFiles.csv(history).utf8), to: files.csv)
        try MetricsFiles.write(try MetricsFiles.json(document), to: files.json)
        let title = "digitc train: \(preset), \(Format.grouped(data.train.count)) images, \(options.epochs) epoch\(options.epochs == 1 ? "" : "s")"
        try MetricsFiles.write(Data(TrainingChart(title: title, records: history).svg().utf8), to: files.svg)
    }

    func printSummary(files: OutputFiles, result: Result, wallTime: Double) {
        if let testAccuracy = result.testAccuracy, let testLoss = result.testLoss {
            Console.out("test accuracy \(Format.percent(testAccuracy)), test loss \(Format.fixed(testLoss, 4))")
        }
        for url in [files.model, files.checkpoint, files.csv, files.json, files.svg] {
            Console.out("wrote \(Format.path(url))")
        }
        Console.out("wall time \(Format.fixed(wallTime, 2)) s, from process start to the model written")
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
