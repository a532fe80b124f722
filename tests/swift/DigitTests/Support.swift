// SPDX-License-Identifier: MIT
import Digit
import Foundation
import Testing

/// A fresh temporary directory, removed by `cleanup()`.
final class TemporaryDirectory {
    let url: URL

    init(_ label: String = #function) throws {
        let name = "digit-tests-" + label.filter { $0.isLetter || $0.isNumber } + "-" + UUID().uuidString.prefix(8)
        url = FileManager.default.temporaryDirectory.appendingPathComponent(String(name))
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Synthetic handwriting: seven-segment digits with jittered position,
/// size and stroke width, so that tiny data sets are learnable in seconds.
enum Synthetic {
    /// Which of the segments a…g (top, upper right, lower right, bottom,
    /// lower left, upper left, middle) each digit lights.
    static let segments: [[Bool]] = [
        [true, true, true, true, true, true, false],     // 0
        [false, true, true, false, false, false, false], // 1
        [true, true, false, true, true, false, true],    // 2
        [true, true, true, true, false, false, true],    // 3
        [false, true, true, false, false, true, true],   // 4
        [true, false, true, true, false, true, true],    // 5
        [true, false, true, true, true, true, true],     // 6
        [true, true, true, false, false, false, false],  // 7
        [true, true, true, true, true, true, true],      // 8
        [true, true, true, true, false, true, true],     // 9
    ]

    /// A small deterministic generator (SplitMix64).
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }
    }

    /// One 28×28 image of `digit` (ink bright, MNIST polarity).
    static func image(_ digit: Int, random: inout Random) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: 784)
        let w = random.int(9...13), h = random.int(16...20), t = random.int(2...3)
        let x0 = random.int(4...(27 - w - 4)), y0 = random.int(3...(27 - h - 3))
        let ym = y0 + h / 2
        func rect(_ x: Int, _ y: Int, _ rw: Int, _ rh: Int) {
            for yy in y..<min(28, y + rh) { for xx in x..<min(28, x + rw) { pixels[yy * 28 + xx] = 255 } }
        }
        let on = segments[digit]
        if on[0] { rect(x0, y0, w, t) }
        if on[1] { rect(x0 + w - t, y0, t, h / 2 + 1) }
        if on[2] { rect(x0 + w - t, ym, t, h - h / 2) }
        if on[3] { rect(x0, y0 + h - t, w, t) }
        if on[4] { rect(x0, ym, t, h - h / 2) }
        if on[5] { rect(x0, y0, t, h / 2 + 1) }
        if on[6] { rect(x0, ym - t / 2, w, t) }
        return pixels
    }

    /// `count` images with labels cycling through 0…9.
    static func samples(count: Int, seed: UInt64 = 7) -> (pixels: [UInt8], labels: [UInt8]) {
        var random = Random(state: seed)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<count {
            let digit = (i * 7 + Int(seed)) % 10
            pixels += image(digit, random: &random)
            labels.append(UInt8(digit))
        }
        return (pixels, labels)
    }

    static func dataset(count: Int, seed: UInt64 = 7) throws -> Dataset {
        let s = samples(count: count, seed: seed)
        return try Dataset(pixels: s.pixels, labels: s.labels)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// IDX image file bytes.
    static func idxImages(_ pixels: [UInt8]) -> Data {
        Data(bigEndian(0x803) + bigEndian(UInt32(pixels.count / 784)) + bigEndian(28) + bigEndian(28) + pixels)
    }

    /// IDX label file bytes.
    static func idxLabels(_ labels: [UInt8]) -> Data {
        Data(bigEndian(0x801) + bigEndian(UInt32(labels.count)) + labels)
    }

    /// Writes the four MNIST files (small) into `dir`.
    static func writeMNIST(to dir: URL, train: Int = 256, test: Int = 100) throws {
        let a = samples(count: train, seed: 11), b = samples(count: test, seed: 23)
        try idxImages(a.pixels).write(to: dir.appendingPathComponent("train-images-idx3-ubyte"))
        try idxLabels(a.labels).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        try idxImages(b.pixels).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try idxLabels(b.labels).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }

    /// A black-ink-on-white bitmap of `digit`, `scale` times the 28×28 size,
    /// the way a scanned or drawn digit would arrive.
    static func paperBitmap(_ digit: Int, scale: Int = 3, seed: UInt64 = 5) -> [UInt8] {
        var random = Random(state: seed)
        let small = image(digit, random: &random)
        let side = 28 * scale
        return (0..<side * side).map { i in 255 - small[(i / side / scale) * 28 + (i % side) / scale] }
    }
}

/// The package root, found from this file.
let packageRoot: URL = {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
        dir = dir.deletingLastPathComponent()
    }
    return dir
}()

extension Model {
    /// Classifies a flat array of `count × 784` pixels (a test shorthand for
    /// the buffer-pointer entry points).
    func predictFlat(_ pixels: [UInt8]) throws -> [Prediction] {
        try pixels.withUnsafeBufferPointer { try predict($0) }
    }

    /// The same for pixels scaled to 0…1.
    func predictFlat(_ pixels: [Float]) throws -> [Prediction] {
        try pixels.withUnsafeBufferPointer { try predict($0) }
    }
}
