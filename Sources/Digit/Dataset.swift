// SPDX-License-Identifier: MIT
import CDigit
import Foundation

/// Labelled images: an MNIST-style data set held in memory.
///
/// A dataset is a random-access collection of ``Sample``s and cannot be
/// changed once made; ``slice(_:)`` makes a smaller one.
///
/// ```swift
/// let test = try Dataset(mnistDirectory: dataDir, split: .test)
/// print(test.count, test[0].label)
/// ```
public final class Dataset: @unchecked Sendable {
    // @unchecked: the handle is never modified after init, and the library
    // allows concurrent use of a const dataset.
    let handle: OpaquePointer

    /// The two halves of MNIST.
    public enum Split: Sendable, Hashable {
        /// `train-images-idx3-ubyte` / `train-labels-idx1-ubyte`: 60,000 images.
        case train
        /// `t10k-images-idx3-ubyte` / `t10k-labels-idx1-ubyte`: 10,000 images.
        case test
    }

    /// One labelled image.
    public struct Sample: Sendable, Hashable {
        /// The 28×28 image.
        public let image: Image
        /// Its digit, 0…9.
        public let label: Int
    }

    private init(handle: OpaquePointer) { self.handle = handle }

    deinit { digit_dataset_free(handle) }

    private static func make(_ body: (UnsafeMutablePointer<OpaquePointer?>) throws -> digit_status) throws -> OpaquePointer {
        var out: OpaquePointer?
        try check(body(&out))
        guard let out else { throw DigitError(.memory, "libdigit returned no dataset") }
        return out
    }

    /// Loads an IDX image file (n × 28 × 28 bytes) and its IDX label file,
    /// raw or gzip-compressed.
    /// - Throws: ``DigitError`` naming the file: `.io` when it cannot be
    ///   read, `.format` when it is malformed or the counts disagree.
    public init(contentsOf images: URL, labels: URL) throws {
        handle = try images.withCPath { i in
            try labels.withCPath { l in try Dataset.make { digit_dataset_load(i, l, $0) } }
        }
    }

    /// Loads one split of MNIST from a directory holding the standard file
    /// names (`train-images-idx3-ubyte`, …), with or without `.gz`.
    public init(mnistDirectory directory: URL, split: Split) throws {
        handle = try directory.withCPath { dir in
            try Dataset.make { digit_dataset_load_mnist(dir, split == .train ? 1 : 0, $0) }
        }
    }

    /// Your own labelled pictures, in folders named by their digit as
    /// torchvision's ImageFolder has them: `folder/0/…` to `folder/9/…`
    /// (folders inside those are read too), any format ``Image`` reads, each
    /// preprocessed as ``Image/init(contentsOf:)`` does, in sorted path
    /// order. Hidden files and files beside the class folders are passed over.
    /// - Throws: ``DigitError`` naming the folder or the file: `.argument`
    ///   for no pictures or a folder not named 0–9, `.io`, `.format` or
    ///   `.image` for a file that cannot be read as a picture of a digit.
    public init(imageFolder folder: URL) throws {
        handle = try folder.withCPath { dir in try Dataset.make { digit_dataset_load_folder(dir, $0) } }
    }

    /// A new dataset of this one's samples followed by `other`'s, e.g. your
    /// own pictures mixed with MNIST.
    public func appending(_ other: Dataset) throws -> Dataset {
        Dataset(handle: try Dataset.make { digit_dataset_concat(handle, other.handle, $0) })
    }

    /// A dataset copied from memory: `count × 784` pixels and `count`
    /// labels 0…9.
    public init(pixels: [UInt8], labels: [UInt8]) throws {
        guard pixels.count == labels.count * Image.pixelCount else {
            throw DigitError(.argument, "\(labels.count) labels need \(labels.count * Image.pixelCount) pixels, not \(pixels.count)")
        }
        handle = try pixels.withUnsafeBufferPointer { p in
            try labels.withUnsafeBufferPointer { l in
                try Dataset.make { digit_dataset_create(p.baseAddress, l.baseAddress, l.count, $0) }
            }
        }
    }

    /// A dataset of the given images and their labels (0…9).
    public convenience init(images: [Image], labels: [Int]) throws {
        guard images.count == labels.count else {
            throw DigitError(.argument, "\(images.count) images but \(labels.count) labels")
        }
        guard let bad = labels.firstIndex(where: { !(0...9).contains($0) }) else {
            try self.init(pixels: images.flatMap(\.pixels), labels: labels.map { UInt8($0) })
            return
        }
        throw DigitError(.argument, "label \(bad) is \(labels[bad]), not a digit 0-9")
    }

    /// A new dataset holding copies of the samples in `range`.
    public func slice(_ range: Range<Int>) throws -> Dataset {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DigitError(.argument, "slice \(range) is outside the dataset of \(count) images")
        }
        return Dataset(handle: try Dataset.make {
            digit_dataset_slice(handle, range.lowerBound, range.count, $0)
        })
    }

    /// A new dataset of the first `n` samples (all of them if fewer).
    public func prefix(count n: Int) throws -> Dataset {
        try slice(0..<Swift.min(Swift.max(0, n), count))
    }

    /// All labels, one byte 0…9 per image.
    public var labels: [UInt8] {
        Array(UnsafeBufferPointer(start: digit_dataset_labels(handle), count: count))
    }

    /// All images (a copy).
    public var images: [Image] {
        withUnsafePixels { pixels in
            (0..<count).map { i in
                Image(unchecked: Array(pixels[i * Image.pixelCount ..< (i + 1) * Image.pixelCount]), report: nil)
            }
        }
    }

    /// All pixels, `count × 784` bytes, image after image (a copy; see
    /// ``withUnsafePixels(_:)`` to avoid it).
    public var pixels: [UInt8] {
        withUnsafePixels { Array($0) }
    }

    /// Gives `body` the dataset's pixels without copying them.
    public func withUnsafePixels<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: digit_dataset_images(handle), count: count * Image.pixelCount))
    }
}

extension Dataset: RandomAccessCollection {
    /// The first index, 0.
    public var startIndex: Int { 0 }
    /// The number of samples.
    public var endIndex: Int { digit_dataset_count(handle) }
    /// The number of samples.
    public var count: Int { digit_dataset_count(handle) }

    /// The sample at `index`.
    public subscript(index: Int) -> Sample {
        precondition(index >= 0 && index < count, "dataset index \(index) out of range 0..<\(count)")
        let pixels = Array(UnsafeBufferPointer(start: digit_dataset_images(handle)! + index * Image.pixelCount,
                                               count: Image.pixelCount))
        return Sample(image: Image(unchecked: pixels, report: nil), label: Int(digit_dataset_labels(handle)![index]))
    }
}
