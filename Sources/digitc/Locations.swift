import Digit
import Foundation

/// Where digitc finds its data, models and helper script.
enum Locations {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The package root of the source tree digitc was built from: the first
    /// folder above this source file holding a Package.swift. `nil` when the
    /// tree is gone (a copied binary).
    static let packageRoot: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                return dir
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    /// A non-empty environment variable.
    static func env(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// `--data DIR`, else `$DIGIT_DATA`, else `$XDG_CACHE_HOME/libdigit/mnist`,
    /// else `~/.cache/libdigit/mnist` (the fetch script's own default).
    static func dataDirectory(_ option: String?) -> URL {
        if let option { return URL(fileURLWithPath: expandingTilde(option)) }
        if let dir = env("DIGIT_DATA") { return URL(fileURLWithPath: expandingTilde(dir)) }
        let cache = env("XDG_CACHE_HOME").map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cache.appendingPathComponent("libdigit/mnist")
    }

    /// The model shipped in the source tree.
    static var shippedModel: URL? {
        packageRoot?.appendingPathComponent("models/digit-basic.safetensors")
    }

    /// `--model FILE`, else `$DIGIT_MODEL`, else the shipped model; checks
    /// that the file exists.
    static func model(_ option: String?) throws -> URL {
        if let option { return try existingFile(option, what: "model file") }
        if let path = env("DIGIT_MODEL") { return try existingFile(path, what: "model file ($DIGIT_MODEL)") }
        guard let shipped = shippedModel else {
            throw CLIError("no model given: pass --model FILE or set $DIGIT_MODEL")
        }
        guard FileManager.default.fileExists(atPath: shipped.path) else {
            throw CLIError("""
                no model given and the default model \(shipped.path) does not exist; \
                pass --model FILE, set $DIGIT_MODEL, or create it with \
                `digitc train --output \(shipped.path)`
                """)
        }
        return shipped
    }

    /// The fetch script: `$DIGIT_FETCH_SCRIPT`, else scripts/fetch_mnist.py
    /// in the source tree.
    static func fetchScript() throws -> URL {
        if let path = env("DIGIT_FETCH_SCRIPT") {
            return try existingFile(path, what: "fetch script ($DIGIT_FETCH_SCRIPT)")
        }
        guard let script = packageRoot?.appendingPathComponent("scripts/fetch_mnist.py"),
              FileManager.default.fileExists(atPath: script.path)
        else {
            throw CLIError("cannot find scripts/fetch_mnist.py; set $DIGIT_FETCH_SCRIPT to its path")
        }
        return script
    }

    /// `path` as a URL if a regular file is there; a CLIError otherwise.
    static func existingFile(_ path: String, what: String) throws -> URL {
        let url = URL(fileURLWithPath: expandingTilde(path))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CLIError("\(what) \(path): no such file")
        }
        guard !isDirectory.boolValue else { throw CLIError("\(what) \(path): is a directory, not a file") }
        return url
    }

    static func expandingTilde(_ path: String) -> String {
        (path as NSString).expandingTildeInPath
    }

    // MARK: MNIST

    static let mnistFiles = [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    ]

    /// The MNIST files missing from `dir` (each may also be gzip'd).
    static func missingMNISTFiles(in dir: URL) -> [String] {
        mnistFiles.filter { name in
            let plain = dir.appendingPathComponent(name).path
            return !FileManager.default.fileExists(atPath: plain)
                && !FileManager.default.fileExists(atPath: plain + ".gz")
        }
    }

    /// Makes sure `dir` holds MNIST, running the fetch script when not.
    static func ensureMNIST(in dir: URL) throws {
        let missing = missingMNISTFiles(in: dir)
        guard !missing.isEmpty else { return }
        Console.note("\(dir.path) lacks \(missing.joined(separator: ", ")); fetching MNIST")
        _ = try runFetchScript(directory: dir)
    }

    /// Runs the fetch script with `python3`, streaming its progress (its
    /// standard error) through, and returns the data directory it prints.
    static func runFetchScript(directory: URL?) throws -> URL {
        let script = try fetchScript()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + (directory.map { ["--dir", $0.path] } ?? [])
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw CLIError("cannot run python3 \(script.path): \(error.localizedDescription)")
        }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationReason == .exit && process.terminationStatus == 127 {
            throw CLIError("fetching MNIST failed: cannot run python3 (not on PATH?)")
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)"
                                                         : "was killed by signal \(process.terminationStatus)"
            throw CLIError("fetching MNIST failed: \(script.lastPathComponent) \(how)")
        }
        let lines = String(decoding: output, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard let last = lines.last.map(String.init), !last.isEmpty else {
            if let directory { return directory }
            throw CLIError("\(script.path) printed no data directory")
        }
        return URL(fileURLWithPath: last)
    }
}
