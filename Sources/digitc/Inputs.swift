// SPDX-License-Identifier: MIT
import DigitJSON
import Foundation

/// One thing to classify, as named on the command line.
struct Input {
    enum Source {
        case file(URL)
        /// Bytes already read, e.g. from the standard input.
        case bytes(Data)
    }

    /// How messages and output name it: the path as given, a path inside a
    /// directory argument, or `<stdin>`.
    let name: String
    let source: Source

    static let standardInputName = "<stdin>"
}

/// What the first bytes of a file say it is. Directories are scanned by
/// content, not by extension, so that `.DS_Store`, `Thumbs.db` or a
/// README next to the scans are passed over.
enum ImageSignature {
    case png, jpeg

    init?(_ data: Data) {
        let bytes = [UInt8](data.prefix(8))
        if bytes == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            self = .png
        } else if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            self = .jpeg
        } else {
            return nil
        }
    }

    init?(fileAt url: URL) {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 8) else { return nil }
        self.init(head)
    }
}

/// Turns classify's arguments into inputs: files as they are, directories
/// into the images inside them, `-` into the standard input.
struct InputCollector {
    /// Called with a message for each file passed over.
    let note: (String) -> Void

    /// The inputs, and the failures found while collecting (an empty
    /// standard input, a directory without images), each in its place.
    func collect(_ arguments: [String]) -> [Result<Input, ErrorRecord>] {
        arguments.flatMap { argument -> [Result<Input, ErrorRecord>] in
            if argument == "-" { return [readStandardInput()] }
            let url = URL(fileURLWithPath: Locations.expandingTilde(argument))
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return scan(directory: url, named: argument)
            }
            return [.success(Input(name: argument, source: .file(url)))]
        }
    }

    private func readStandardInput() -> Result<Input, ErrorRecord> {
        let name = Input.standardInputName
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard !data.isEmpty else {
            return .failure(ErrorRecord(file: name, kind: .io, message: "\(name): empty input, no image"))
        }
        return .success(Input(name: Input.standardInputName, source: .bytes(data)))
    }

    /// Every PNG or JPEG under `directory`, recursively, sorted by path.
    private func scan(directory: URL, named argument: String) -> [Result<Input, ErrorRecord>] {
        let prefix = argument.hasSuffix("/") ? String(argument.dropLast()) : argument
        let files = Self.regularFiles(under: directory)
        var inputs: [Result<Input, ErrorRecord>] = []
        for relative in files {
            let name = prefix + "/" + relative.joined(separator: "/")
            let url = relative.reduce(directory) { $0.appendingPathComponent($1) }
            guard ImageSignature(fileAt: url) != nil else {
                note("skipping \(name): not a PNG or JPEG image")
                continue
            }
            inputs.append(.success(Input(name: name, source: .file(url))))
        }
        if inputs.isEmpty {
            inputs.append(.failure(ErrorRecord(file: argument, kind: .format,
                                               message: "\(argument): no PNG or JPEG images in this directory")))
        }
        return inputs
    }

    /// Paths (as components, relative to `directory`) of the regular files
    /// below it, in component-wise sorted order so that "a/z.png" comes
    /// before "a-b/c.png" as it does in a file manager's tree.
    static func regularFiles(under directory: URL) -> [[String]] {
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: directory.path) else { return [] }
        var found: [[String]] = []
        for case let relative as String in enumerator {
            var isDirectory: ObjCBool = false
            let path = directory.appendingPathComponent(relative).path
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            found.append(relative.split(separator: "/").map(String.init))
        }
        return found.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
