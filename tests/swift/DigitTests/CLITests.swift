// SPDX-License-Identifier: MIT
import CDigit
import Digit
import Foundation
import Testing

/// Runs the built `digitc` executable.
enum CLI {
    /// Where SwiftPM put digitc: next to the test product (Linux runs the
    /// `.xctest` executable itself; macOS a bundle three levels deeper), or
    /// `$DIGITC_PATH`, or `.build/debug` of the package.
    static let executable: URL? = {
        let fm = FileManager.default
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["DIGITC_PATH"] {
            candidates.append(URL(fileURLWithPath: path))
        }
        var dir = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("digitc"))
            dir = dir.deletingLastPathComponent()
        }
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("digitc"))
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/digitc"))
        return candidates.first { fm.isExecutableFile(atPath: $0.path) }
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// A fetch script that fails at once, so that no test touches the network.
    /// One fixed name, rewritten by each run with the same text: a name per
    /// process would leave a file behind after every run.
    static let failingFetchScript: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("digit-tests-fetch-fails.py")
        try? Data("import sys\nprint('fetch_mnist: offline in tests', file=sys.stderr)\nsys.exit(2)\n".utf8).write(to: url)
        return url
    }()

    /// Starts digitc with `arguments` in `directory`; its output goes to files there.
    static func start(_ arguments: [String], in directory: URL, environment extra: [String: String] = [:],
                      input: Data? = nil) throws -> (Process, stdout: URL, stderr: URL)
    {
        let binary = try #require(executable, "digitc was not built; run `swift build` first or set DIGITC_PATH")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["DIGIT_DATA"] = nil
        environment["DIGIT_MODEL"] = nil
        environment["DIGIT_FETCH_SCRIPT"] = failingFetchScript.path
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let tag = UUID().uuidString.prefix(6)
        let out = directory.appendingPathComponent(".stdout-\(tag)"), err = directory.appendingPathComponent(".stderr-\(tag)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let input {
            let file = directory.appendingPathComponent(".stdin-\(tag)")
            try input.write(to: file)
            process.standardInput = try FileHandle(forReadingFrom: file)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return (process, out, err)
    }

    /// Runs digitc to completion.
    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:],
                    input: Data? = nil) throws -> Result {
        let (process, out, err) = try start(arguments, in: directory, environment: environment, input: input)
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

/// A temp directory with small MNIST files in `mnist/` and an untrained
/// compact model in `model.safetensors`.
final class CLIFixture {
    let dir: TemporaryDirectory
    var url: URL { dir.url }
    var data: String { dir.file("mnist").path }
    var model: String { dir.file("model.safetensors").path }

    init(_ label: String = #function, train: Int = 128, test: Int = 60) throws {
        dir = try TemporaryDirectory(label)
        try FileManager.default.createDirectory(at: dir.file("mnist"), withIntermediateDirectories: true)
        try Synthetic.writeMNIST(to: dir.file("mnist"), train: train, test: test)
        try Model(preset: .compact, seed: 3).save(to: dir.file("model.safetensors"))
    }

    func run(_ arguments: String..., environment: [String: String] = [:], input: Data? = nil) throws -> CLI.Result {
        try CLI.run(arguments, in: url, environment: environment, input: input)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: dir.file(name).path) }

    /// Writes a black-on-white PNG of `digit`, scaled up, as a user would have.
    func writeDigitPNG(_ name: String, digit: Int) throws {
        let url = dir.file(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Image.savePNG(gray: Synthetic.paperBitmap(digit, scale: 2), width: 56, height: 56, to: url)
    }

    /// Each line of standard output parsed as a JSON object.
    static func jsonLines(_ r: CLI.Result) throws -> [[String: Any]] {
        try r.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
    }
}

@Suite("digitc")
struct CLITests {
    @Test func helpAndVersion() throws {
        let f = try CLIFixture()
        let help = try f.run("train", "--help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("Examples:") && help.stdout.contains("--resume"))
        let version = try f.run("--version")
        #expect(version.status == 0 && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Digit.version)
    }

    @Test func info() throws {
        let f = try CLIFixture()
        let r = try f.run("info", "--model", f.model)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("architecture   compact"))
        #expect(r.stdout.contains("31,898"))
        #expect(r.stdout.contains("conv1") && r.stdout.contains("fc2"))
        #expect(r.stdout.contains("(x/255 - 0) / 1"))

        let preset = try f.run("info", "--arch", "basic")
        #expect(preset.status == 0 && preset.stdout.contains("421,642"))
    }

    @Test func trainEvaluateClassify() throws {
        let f = try CLIFixture(train: 160, test: 60)
        let train = try f.run("train", "--arch", "compact", "--data", f.data, "--epochs", "1", "--limit", "96",
                              "--batch-size", "32", "--threads", "1", "--log-every", "1", "--output", "out/digits.safetensors")
        #expect(train.status == 0, "\(train.stderr)")
        for name in ["digits.safetensors", "digits.checkpoint.safetensors", "digits.metrics.csv", "digits.metrics.json", "digits.svg"] {
            #expect(f.exists("out/" + name), "missing \(name)")
            #expect(train.stdout.contains("out/" + name))
        }
        // Not a terminal: plain log lines.
        #expect(train.stderr.contains("epoch 1 batch 1/3 loss "))
        #expect(train.stderr.contains("epoch 1: train loss "))
        #expect(train.stderr.contains("test accuracy "))

        let csv = try String(contentsOf: f.dir.file("out/digits.metrics.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "epoch,train_loss,test_loss,test_accuracy,seconds,learning_rate")
        #expect(csv.count == 2 && csv[1].hasPrefix("1,"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: f.dir.file("out/digits.metrics.json"))) as? [String: Any]
        #expect((json?["epochs"] as? [Any])?.count == 1)
        #expect(json?["train_images"] as? Int == 96)
        let svg = try String(contentsOf: f.dir.file("out/digits.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("</svg>") && svg.contains("Test accuracy"))

        let model = try Model(contentsOf: f.dir.file("out/digits.safetensors"))
        #expect(model.preset.rawValue == "compact")
        #expect(model[metadata: "trained_with"]?.hasPrefix("digitc train --arch compact") == true)
        #expect(model[metadata: "train_images"] == "96")
        #expect(model[metadata: "epochs"] == "1" && model[metadata: "seed"] == "1")
        #expect(model[metadata: "trained_at"]?.contains("T") == true)
        #expect(Double(model[metadata: "test_accuracy"] ?? "") != nil)
        #expect(Double(model[metadata: "test_loss"] ?? "") != nil)

        let info = try f.run("info", "--model", "out/digits.safetensors")
        #expect(info.stdout.contains("trained_with") && info.stdout.contains("test_accuracy"))

        let evaluate = try f.run("evaluate", "--model", "out/digits.safetensors", "--data", f.data, "--errors", "errors.png")
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(evaluate.stdout.contains("accuracy"))
        #expect(evaluate.stdout.contains("true\\pred"))
        #expect(evaluate.stdout.contains("precision") && evaluate.stdout.contains("recall"))
        let png = try Data(contentsOf: f.dir.file("errors.png"))
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))

        let limited = try f.run("evaluate", "--model", "out/digits.safetensors", "--data", f.data, "--limit", "10")
        #expect(limited.stdout.contains("10 test images"))
    }

    @Test func augmentedGridAndValidation() throws {
        let f = try CLIFixture(train: 160, test: 60)
        let grid = try f.run("train", "--arch", "strong", "--data", f.data, "--augment", "rotate=20,shear=5",
                             "--show-augmented", "grid.png", "--output", "g.safetensors")
        #expect(grid.status == 0, "\(grid.stderr)")
        #expect(grid.stdout.contains("rotate=20.0") && grid.stdout.contains("shear=5.0"))
        let png = try Data(contentsOf: f.dir.file("grid.png"))
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        #expect(!f.exists("g.safetensors") && !f.exists("g.checkpoint.safetensors"), "--show-augmented trains nothing")

        let train = try f.run("train", "--arch", "speedrun", "--data", f.data, "--validation", "32",
                              "--schedule", "cosine", "--betas", "0.8,0.95", "--weight-decay", "0.01",
                              "--label-smoothing", "0.1", "--augment", "shift=0.1", "--batch-size", "32",
                              "--threads", "1", "--output", "v.safetensors")
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("holding out training images 128..<160"), "\(train.stderr)")
        #expect(train.stderr.contains("on 128 images, testing on 32"), "\(train.stderr)")
    }

    @Test func fineTunesOnOwnPictures() throws {
        let f = try CLIFixture(train: 160, test: 60)
        for digit in 0..<10 {
            for k in 0..<3 { try f.writeDigitPNG("mine/\(digit)/\(k).png", digit: digit) }
        }
        let before = try Model(contentsOf: f.dir.file("model.safetensors"))
        let tune = try f.run("train", "--from", f.model, "--images", "mine", "--mix-mnist", "64", "--data", f.data,
                             "--epochs", "2", "--batch-size", "16", "--threads", "1", "--output", "tuned.safetensors")
        #expect(tune.status == 0, "\(tune.stderr)")
        #expect(tune.stderr.contains("read 30 pictures from"), "\(tune.stderr)")
        #expect(tune.stderr.contains("on 94 images"), "30 own + 64 MNIST: \(tune.stderr)")
        #expect(tune.stderr.contains("your 30 pictures: "), "\(tune.stderr)")
        #expect(tune.stdout.contains("wall time "))
        let tuned = try Model(contentsOf: f.dir.file("tuned.safetensors"))
        #expect(tuned.preset == before.preset, "the --from model's architecture")
        #expect(tuned.weights != before.weights, "trained further")
        #expect(tuned[metadata: "train_images"] == "94")

        let wrongArch = try f.run("train", "--from", f.model, "--arch", "basic", "--images", "mine", "--data", f.data)
        #expect(wrongArch.status == 1 && wrongArch.stderr.contains("is a compact, not a basic"), "\(wrongArch.stderr)")
        try FileManager.default.createDirectory(at: f.dir.file("mine/x"), withIntermediateDirectories: true)
        let badFolder = try f.run("train", "--from", f.model, "--images", "mine", "--data", f.data)
        #expect(badFolder.status == 2 && badFolder.stderr.contains("mine/x: not a class folder"), "\(badFolder.stderr)")
        #expect(!f.exists("model.checkpoint.safetensors"))
    }

    @Test func classify() throws {
        let f = try CLIFixture()
        try f.writeDigitPNG("seven.png", digit: 7)
        try f.writeDigitPNG("one.png", digit: 1)
        let text = try f.run("classify", "--model", f.model, "seven.png", "one.png")
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("seven.png: ") && lines[0].hasSuffix("%)"))
        #expect(lines[1].hasPrefix("one.png: "))

        let top = try f.run("classify", "--model", f.model, "--top", "3", "seven.png")
        #expect(top.stdout.split(separator: ",").count == 3)

        let json = try f.run("classify", "--model", f.model, "--json", "--top", "2", "seven.png", "one.png")
        #expect(json.status == 0)
        for line in json.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["file"] as? String)?.hasSuffix(".png") == true)
            #expect((0...9).contains(object["digit"] as? Int ?? -1))
            let probabilities = try #require(object["probabilities"] as? [Double])
            #expect(probabilities.count == 10 && abs(probabilities.reduce(0, +) - 1) < 1e-3)
            #expect((object["top"] as? [Any])?.count == 2)
            #expect(object["confidence"] as? Double == probabilities.max())
        }

        let one = try f.run("classify", "--model", f.model, "--show-input", "seen.png", "seven.png")
        #expect(one.status == 0 && f.exists("seen.png"))
        let many = try f.run("classify", "--model", f.model, "--show-input", "inputs", "seven.png", "one.png")
        #expect(many.status == 0 && f.exists("inputs/seven.input.png") && f.exists("inputs/one.input.png"))
    }

    @Test func classifyReportsBadFilesAndGoesOn() throws {
        let f = try CLIFixture()
        try f.writeDigitPNG("good.png", digit: 3)
        try Data("not an image".utf8).write(to: f.dir.file("text.png"))
        try Image.savePNG(gray: [UInt8](repeating: 255, count: 64), width: 8, height: 8, to: f.dir.file("blank.png"))
        let r = try f.run("classify", "--model", f.model, "text.png", "good.png", "missing.png", "blank.png")
        #expect(r.status == 2)
        #expect(r.stdout.hasPrefix("good.png: "))
        let errors = r.stderr.split(separator: "\n")
        #expect(errors.count == 3)
        #expect(errors.allSatisfy { $0.hasPrefix("digitc: error: ") })
        #expect(errors[0].contains("text.png") && errors[0].contains("not a PNG"))
        #expect(errors[1].contains("missing.png"))
        #expect(errors[2].contains("blank.png") && errors[2].contains("ink"))
    }

    @Test func modelProblemsExitTwo() throws {
        let f = try CLIFixture()
        try f.writeDigitPNG("d.png", digit: 2)
        let missing = try f.run("classify", "--model", "nowhere.safetensors", "d.png")
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("digitc: error: ") && missing.stderr.contains("nowhere.safetensors"))

        try Data("{\"not\": \"a model\"}".utf8).write(to: f.dir.file("corrupt.safetensors"))
        for command in [["info"], ["evaluate", "--data", f.data], ["classify", "d.png"]] {
            let corrupt = try CLI.run(command + ["--model", "corrupt.safetensors"], in: f.url)
            #expect(corrupt.status == 2, "\(command)")
            #expect(corrupt.stderr.contains("corrupt.safetensors"), "\(command)")
        }
        let viaEnvironment = try f.run("info", environment: ["DIGIT_MODEL": f.dir.file("gone.safetensors").path])
        #expect(viaEnvironment.status == 2 && viaEnvironment.stderr.contains("gone.safetensors"))
    }

    /// A folder the user names is read as it is: missing files are an
    /// error that names them, and only `--fetch` downloads them.
    @Test func missingDataIsReportedOrFetchedOnRequest() throws {
        let f = try CLIFixture()
        let empty = f.dir.file("empty").path
        let r = try f.run("evaluate", "--model", f.model, "--data", empty)
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(empty) lacks train-images-idx3-ubyte"), "\(r.stderr)")
        #expect(r.stderr.contains("--fetch"))
        #expect(!r.stderr.contains("offline in tests"))  // the fetch script never ran
        let viaEnvironment = try f.run("train", "--epochs", "1", environment: ["DIGIT_DATA": empty])
        #expect(viaEnvironment.status == 2 && viaEnvironment.stderr.contains("\(empty) lacks"))
        #expect(!viaEnvironment.stderr.contains("offline in tests"))

        let asked = try f.run("evaluate", "--model", f.model, "--data", empty, "--fetch")
        #expect(asked.status == 2)
        #expect(asked.stderr.contains("offline in tests"))  // the fetch script's own message, streamed
        #expect(asked.stderr.contains("digitc: error: fetching MNIST failed"))

        // A stand-in fetch script that "downloads" by copying the fixture.
        let script = f.dir.file("fake_fetch.py")
        try Data("""
            import shutil, sys
            dest = sys.argv[sys.argv.index('--dir') + 1] if '--dir' in sys.argv else '\(f.dir.file("default").path)'
            print('fake fetch: copying', file=sys.stderr)
            shutil.copytree('\(f.data)', dest, dirs_exist_ok=True)
            print(dest)
            """.utf8).write(to: script)
        let fetched = try f.run("evaluate", "--model", f.model, "--data", f.dir.file("fresh").path, "--fetch",
                                environment: ["DIGIT_FETCH_SCRIPT": script.path])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(fetched.stderr.contains("fake fetch: copying"))
        let fetch = try f.run("fetch", "--dir", f.dir.file("other").path, environment: ["DIGIT_FETCH_SCRIPT": script.path])
        #expect(fetch.status == 0)
        #expect(fetch.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == f.dir.file("other").path)
    }

    /// A user's file is never replaced: a folder holding only a corrupt
    /// train-images file is reported, with or without --fetch, and the file
    /// keeps its bytes (the real fetch script refuses it before any download).
    @Test func userFilesAreNeverOverwritten() throws {
        let f = try CLIFixture()
        let dir = f.dir.file("mine")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let corrupt = dir.appendingPathComponent("train-images-idx3-ubyte")
        let bytes = Data("my own file, not MNIST".utf8)
        try bytes.write(to: corrupt)
        let realScript = packageRoot.appendingPathComponent("scripts/fetch_mnist.py").path

        let plain = try f.run("evaluate", "--model", f.model, "--data", dir.path)
        #expect(plain.status == 2)
        #expect(plain.stderr.contains("lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"),
                "\(plain.stderr)")
        let fetching = try f.run("evaluate", "--model", f.model, "--data", dir.path, "--fetch",
                                 environment: ["DIGIT_FETCH_SCRIPT": realScript])
        #expect(fetching.status == 2)
        #expect(fetching.stderr.contains("\(corrupt.path): not the MNIST file"), "\(fetching.stderr)")
        #expect(!fetching.stderr.contains("trying mirror"))  // refused before any download
        #expect(try Data(contentsOf: corrupt) == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["train-images-idx3-ubyte"])

        // All four present but one corrupt: the loader names it; nothing is fetched.
        let full = f.dir.file("full")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: f.data), to: full)
        let images = full.appendingPathComponent("t10k-images-idx3-ubyte")
        try bytes.write(to: images)
        let loaded = try f.run("evaluate", "--model", f.model, "--data", full.path)
        #expect(loaded.status == 2)
        #expect(loaded.stderr.contains(images.path), "\(loaded.stderr)")
        #expect(try Data(contentsOf: images) == bytes)
    }

    /// An installed digitc (`<prefix>/bin/digitc`) takes its model and fetch
    /// script from `<prefix>/share/libdigit`, and says what it tried when the
    /// model is gone.
    @Test func installedCopyUsesItsPrefix() throws {
        let f = try CLIFixture()
        let binary = try #require(CLI.executable)
        let prefix = f.dir.file("prefix")
        let share = prefix.appendingPathComponent("share/libdigit")
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        let installed = prefix.appendingPathComponent("bin/digitc")
        try FileManager.default.copyItem(at: binary, to: installed)
        let model = share.appendingPathComponent(String(cString: digit_default_model_file()))
        try FileManager.default.copyItem(at: URL(fileURLWithPath: f.model), to: model)
        try Data("import sys\nprint('installed fetch', file=sys.stderr)\nprint(sys.argv[-1])\n".utf8)
            .write(to: share.appendingPathComponent("fetch_mnist.py"))

        func run(_ arguments: String...) throws -> CLI.Result {
            let process = Process()
            process.executableURL = installed
            process.arguments = arguments
            process.currentDirectoryURL = f.url
            var environment = ProcessInfo.processInfo.environment
            environment["DIGIT_MODEL"] = nil
            environment["DIGIT_FETCH_SCRIPT"] = nil
            process.environment = environment
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return CLI.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                              stderr: String(decoding: stderr, as: UTF8.self))
        }
        let info = try run("info")
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("share/libdigit/"), "\(info.stdout)")
        let fetch = try run("fetch", "--dir", f.dir.file("where").path)
        #expect(fetch.status == 0 && fetch.stderr.contains("installed fetch"), "\(fetch.stderr)")

        try FileManager.default.removeItem(at: model)
        let gone = try run("info")
        #expect(gone.status == 2)
        #expect(gone.stderr.contains("tried \(model.path)"), "\(gone.stderr)")
        #expect(gone.stderr.contains("--model") && gone.stderr.contains("DIGIT_MODEL") && gone.stderr.contains("reinstall"))
    }

    @Test(arguments: [
        (["train", "--arch", "resnet"], "--arch"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--batch-size", "-1"], "--batch-size"),
        (["train", "--lr", "0"], "--lr"),
        (["train", "--milestones", "8,5"], "--milestones"),
        (["train", "--frobnicate"], "--frobnicate"),
        (["train", "--augment", "rotate=10,spin=3"], "unknown key 'spin'"),
        (["train", "--augment", "rotate=200"], "augment_rotate"),
        (["train", "--augment", "scale"], "--augment"),
        (["train", "--schedule", "linear"], "--schedule"),
        (["train", "--betas", "0.9"], "--betas"),
        (["train", "--label-smoothing", "2"], "--label-smoothing"),
        (["train", "--weight-decay", "-1"], "--weight-decay"),
        (["train", "--arch", "basic", "--pct-start", "0.2"], "--schedule onecycle"),
        (["train", "--arch", "strong", "--milestones", "3"], "--schedule multistep"),
        (["train", "--epochs", "2", "--milestones", "3"], "past the run's 2 epochs"),
        (["train", "--validation", "0"], "--validation"),
        (["train", "--mix-mnist", "10"], "--mix-mnist needs --images"),
        (["train", "--images", "mine", "--limit", "10"], "--limit cannot be used with --images"),
        (["train", "--images", "mine", "--mix-mnist", "-1"], "--mix-mnist must be 0 or more"),
        (["classify", "--top", "11", "x.png"], "--top"),
        (["classify", "--min-confidence", "1.5", "x.png"], "--min-confidence"),
        (["classify", "-", "-"], "standard input"),
        (["classify"], "<file>"),
        (["info", "--arch", "basic", "--model", "m"], "--model"),
        (["launch"], "launch"),
    ])
    func usageErrorsExitOne(arguments: [String], mentions: String) throws {
        let f = try CLIFixture()
        let r = try CLI.run(arguments, in: f.url)
        #expect(r.status == 1, "\(arguments): \(r.stderr)")
        #expect(r.stderr.hasPrefix("digitc: error: "), "\(r.stderr)")
        #expect(r.stderr.contains(mentions), "\(r.stderr)")
    }

    @Test func interruptWritesCheckpointAndResumes() throws {
        let f = try CLIFixture(train: 256, test: 20)
        // basic with small batches: slow enough (tens of ms a batch) to be
        // interrupted within the first epoch.
        let arguments = ["train", "--arch", "basic", "--data", f.data, "--epochs", "2", "--batch-size", "8",
                         "--threads", "1", "--log-every", "1", "--output", "run.safetensors"]
        let (process, _, stderr) = try CLI.start(arguments, in: f.url)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning,
              !((try? String(contentsOf: stderr, encoding: .utf8)) ?? "").contains("epoch 1 batch 2/") {
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.interrupt()
        process.waitUntilExit()
        let log = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 130, "\(log)")
        #expect(f.exists("run.checkpoint.safetensors"))
        #expect(!f.exists("run.safetensors"))
        #expect(log.contains("checkpoint written to run.checkpoint.safetensors"))
        #expect(log.contains("resume with: digitc train"))

        let resumed = try CLI.run(arguments + ["--resume", "run.checkpoint.safetensors"], in: f.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(f.exists("run.safetensors"))
        let csv = try String(contentsOf: f.dir.file("run.metrics.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 3)

        // The resumed run ends with the model an uninterrupted run makes.
        let whole = try CLI.run(Array(arguments.dropLast()) + ["whole.safetensors"], in: f.url)
        #expect(whole.status == 0)
        let a = try Model(contentsOf: f.dir.file("run.safetensors")), b = try Model(contentsOf: f.dir.file("whole.safetensors"))
        #expect(a.weights == b.weights)
    }
}
