import CDigit

/// A built-in network architecture of libdigit.
///
/// Values always name an architecture the library knows: ``basic`` and
/// ``compact`` are predefined, and `Preset(rawValue:)` returns `nil` for
/// any other name.
public struct Preset: RawRepresentable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The library's name for the architecture, e.g. `"basic"`.
    public let rawValue: String

    /// The preset called `rawValue`, or `nil` when the library has none.
    public init?(rawValue: String) {
        guard Preset.allCases.contains(where: { $0.rawValue == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    /// A name that came from the library itself.
    init(known name: String) { rawValue = name }

    /// Two 3×3 convolutions (32 and 64 channels), each followed by ReLU and
    /// 2×2 max-pooling, then a 128-unit hidden layer: 421,642 parameters.
    /// Trained with Adam (0.001), batches of 64, 10 epochs.
    public static let basic = Preset(known: "basic")
    /// Three convolutions (16, 32, 16 channels) and a 64-unit hidden layer:
    /// 31,898 parameters. Trained like ``basic``, with the learning rate
    /// multiplied by 0.01 after epochs 5 and 8.
    public static let compact = Preset(known: "compact")

    /// Every architecture the library knows, in its order.
    public static var allCases: [Preset] {
        var result: [Preset] = []
        var index = 0
        while let name = digit_preset_name(index) {
            result.append(Preset(known: String(cString: name)))
            index += 1
        }
        return result
    }

    /// The name, as for ``rawValue``.
    public var description: String { rawValue }
}
