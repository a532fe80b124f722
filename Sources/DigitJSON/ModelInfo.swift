// SPDX-License-Identifier: MIT
/// What `digitc info --json` prints and `GET /v1/model` answers.
public struct ModelInfoRecord: Codable, Sendable, Equatable {
    /// One row of the layer table.
    public struct Layer: Codable, Sendable, Equatable {
        public var name: String
        /// Type and parameters, e.g. "conv2d 1->32 k3 p1".
        public var type: String
        /// Output shape for one image: [channels, height, width].
        public var output: [Int]
        public var parameters: Int

        public init(name: String, type: String, output: [Int], parameters: Int) {
            self.name = name
            self.type = type
            self.output = output
            self.parameters = parameters
        }
    }

    /// The normalization the model applies to its input: (x/255 - mean) / std.
    public struct Normalization: Codable, Sendable, Equatable {
        public var mean: Float
        public var std: Float

        public init(mean: Float, std: Float) {
            self.mean = mean
            self.std = std
        }
    }

    /// The model file, as given; absent for an untrained preset.
    public var file: String?
    /// "basic" or "compact".
    public var architecture: String
    public var parameters: Int
    public var normalization: Normalization
    public var layers: [Layer]
    /// Free-form metadata saved with the model (e.g. "trained_with",
    /// "test_accuracy").
    public var metadata: OrderedStrings
    /// The libdigit version that loaded the model.
    public var libdigit: String

    public init(file: String?, architecture: String, parameters: Int, normalization: Normalization,
                layers: [Layer], metadata: OrderedStrings, libdigit: String) {
        self.file = file
        self.architecture = architecture
        self.parameters = parameters
        self.normalization = normalization
        self.layers = layers
        self.metadata = metadata
        self.libdigit = libdigit
    }
}

/// A JSON object of strings, kept as the model file's list of entries
/// (the encoder writes the keys sorted).
public struct OrderedStrings: Codable, Sendable, Equatable {
    public var entries: [(key: String, value: String)]

    public init(_ entries: [(key: String, value: String)]) { self.entries = entries }

    public static func == (a: Self, b: Self) -> Bool {
        a.entries.map(\.key) == b.entries.map(\.key) && a.entries.map(\.value) == b.entries.map(\.value)
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (key, value) in entries { try container.encode(value, forKey: Key(stringValue: key)) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        entries = try container.allKeys.map { ($0.stringValue, try container.decode(String.self, forKey: $0)) }
    }
}
