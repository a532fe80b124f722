// SPDX-License-Identifier: MIT
import Foundation

/// How every record is written: one compact line, keys sorted (JSONEncoder
/// on Linux keeps no declaration order, and output should not change from
/// run to run), slashes unescaped so that paths stay readable.
public enum RecordEncoding {
    public static func data<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// One JSON Lines line, without the newline.
    public static func line<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }
}
