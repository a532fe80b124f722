// SPDX-License-Identifier: MIT
import CDigit

/// A built-in network architecture of libdigit.
///
/// Values always name an architecture the library knows: ``basic``,
/// ``compact``, ``strong`` and ``speedrun`` are predefined, and `Preset(rawValue:)` returns `nil` for
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
    /// Three convolutions (32, 48, 96 channels) with batch norm, a 128-unit
    /// batch-normed hidden layer with dropout 0.3: 168,586 parameters.
    /// Trained with augmentation (rotation 10°, zoom 10%, shift 8%) and a
    /// one-cycle schedule (Adam, peak 0.004), label smoothing 0.1, batches of
    /// 128, 12 epochs.
    public static let strong = Preset(known: "strong")
    /// The fastest recipe to 99%: a 5×5 and a 3×3 convolution (24 and 32
    /// channels), an 800→256→10 head: 215,194 parameters. One epoch,
    /// batches of 256, Adam (0.01, betas 0.7 and 0.9), one-cycle schedule,
    /// label smoothing 0.1.
    public static let speedrun = Preset(known: "speedrun")

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
