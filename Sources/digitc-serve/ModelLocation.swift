// SPDX-License-Identifier: MIT
import Digit
import Foundation

/// Where the server finds its model: `--model FILE`, else `$DIGIT_MODEL`,
/// else the model shipped in the source tree it was built from (the same
/// order as digitc's).
enum ModelLocation {
    static func resolve(_ option: String?) throws -> URL {
        if let option { return try existing(option) }
        if let path = ProcessInfo.processInfo.environment["DIGIT_MODEL"], !path.isEmpty { return try existing(path) }
        guard let shipped = shippedModel, FileManager.default.fileExists(atPath: shipped.path) else {
            throw StartupError("no model given: pass --model FILE or set $DIGIT_MODEL")
        }
        return shipped
    }

    private static func existing(_ path: String) throws -> URL {
        let expanded = path.hasPrefix("~/") ? NSHomeDirectory() + path.dropFirst(1) : path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: expanded, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw StartupError("model file \(path): no such file")
        }
        return URL(fileURLWithPath: expanded)
    }

    /// models/<the shipped model> above this source file, if the tree is there.
    private static var shippedModel: URL? {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("models/\(Digit.defaultModelFileName)")
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}

/// A reason the server cannot start: printed as
/// `digitc-serve: error: <message>`, exit status 2.
struct StartupError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
