// SPDX-License-Identifier: MIT
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

    /// The prefix digitc is installed in: `<prefix>` of the real path (links
    /// resolved) `<prefix>/bin/digitc`. `nil` when the executable is not in
    /// a `bin` folder (a build tree) or its path is unknown.
    static let installPrefix: URL? = {
        guard let exe = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return nil }
        let bin = exe.deletingLastPathComponent()
        guard bin.lastPathComponent == "bin" else { return nil }
        return bin.deletingLastPathComponent()
    }()

    /// `<prefix>/share/libdigit`, where `make install` puts the shipped model
    /// and the fetch script; `nil` unless that folder exists.
    static var installedData: URL? {
        guard let dir = installPrefix?.appendingPathComponent("share/libdigit") else { return nil }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? dir : nil
    }

    /// The shipped model's file name, as the C header spells it.
    static let defaultModelName = Digit.defaultModelFileName

    /// Where a shipped file may be: in an installed tree, only its
    /// share/libdigit (a copy installed never reaches into a build tree that
    /// happens to survive); otherwise `sourcePath` in the source tree.
    static func shipped(_ name: String, sourcePath: String) -> URL? {
        if let installed = installedData { return installed.appendingPathComponent(name) }
        return packageRoot?.appendingPathComponent(sourcePath)
    }

    /// `--model FILE`, else `$DIGIT_MODEL`, else the shipped model (see
    /// `shipped`); checks that the file exists.
    static func model(_ option: String?) throws -> URL {
        if let option { return try existingFile(option, what: "model file") }
        if let path = env("DIGIT_MODEL") { return try existingFile(path, what: "model file ($DIGIT_MODEL)") }
        let candidate = shipped(defaultModelName, sourcePath: "models/\(defaultModelName)")
        if let candidate, isFile(candidate) { return candidate }
        let tried = candidate.map { "tried \($0.path)" } ?? "digitc is neither installed nor in its source tree"
        throw CLIError("""
            no model given and the default model \(defaultModelName) was not found (\(tried)); \
            pass --model FILE, set $DIGIT_MODEL, or reinstall libdigit (make install PREFIX=...)
            """)
    }

    /// The fetch script: `$DIGIT_FETCH_SCRIPT`, else the installed
    /// `<prefix>/share/libdigit/fetch_mnist.py`, else scripts/fetch_mnist.py
    /// in the source tree.
    static func fetchScript() throws -> URL {
        if let path = env("DIGIT_FETCH_SCRIPT") {
            return try existingFile(path, what: "fetch script ($DIGIT_FETCH_SCRIPT)")
        }
        let candidate = shipped("fetch_mnist.py", sourcePath: "scripts/fetch_mnist.py")
        guard let candidate, isFile(candidate) else {
            let tried = candidate.map { "tried \($0.path)" } ?? "digitc is neither installed nor in its source tree"
            throw CLIError("""
                cannot find the MNIST fetch script fetch_mnist.py (\(tried)); \
                set $DIGIT_FETCH_SCRIPT to its path, or reinstall libdigit
                """)
        }
        return candidate
    }

    static func isFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
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

    /// The MNIST folder to read and whether digitc may fill it by itself.
    struct DataDirectory {
        let url: URL
        /// True only for the per-user cache, used when neither `--data` nor
        /// `$DIGIT_DATA` names a folder: a folder the user chose is read as
        /// it is and never written to without `--fetch`.
        let isDefaultCache: Bool
    }

    /// `--data DIR`, else `$DIGIT_DATA`, else `$XDG_CACHE_HOME/libdigit/mnist`,
    /// else `~/.cache/libdigit/mnist` (the fetch script's own default).
    static func dataDirectory(_ option: String?) -> DataDirectory {
        if let option { return DataDirectory(url: URL(fileURLWithPath: expandingTilde(option)), isDefaultCache: false) }
        if let dir = env("DIGIT_DATA") {
            return DataDirectory(url: URL(fileURLWithPath: expandingTilde(dir)), isDefaultCache: false)
        }
        let cache = env("XDG_CACHE_HOME").map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return DataDirectory(url: cache.appendingPathComponent("libdigit/mnist"), isDefaultCache: true)
    }

    /// Makes sure the data folder holds the four MNIST files. The default
    /// cache is fetched into when it lacks any; a folder the user named only
    /// with `fetch` (`--fetch`), and then the fetch script downloads just the
    /// missing files and refuses (never replaces) any existing one that is
    /// not MNIST's.
    static func ensureMNIST(in data: DataDirectory, fetch: Bool) throws {
        let missing = missingMNISTFiles(in: data.url)
        guard !missing.isEmpty else { return }
        guard data.isDefaultCache || fetch else {
            throw CLIError("""
                the MNIST folder \(data.url.path) lacks \(missing.joined(separator: ", ")); \
                pass --fetch to download the missing files into it, or point --data (or $DIGIT_DATA) \
                at a folder holding all four
                """)
        }
        Console.note("\(data.url.path) lacks \(missing.joined(separator: ", ")); fetching them")
        _ = try runFetchScript(directory: data.url)
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
