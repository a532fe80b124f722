// SPDX-License-Identifier: MIT
import CDigit
import Foundation

/// One 28×28 grayscale input image, the way the models see it: 784 pixels,
/// row-major, 0…255 with the ink bright (MNIST polarity).
///
/// Images decoded from files or data (``init(contentsOf:)``, ``init(data:)``:
/// PNG or JPEG, told apart by their bytes, EXIF orientation applied) or made
/// from a raw bitmap (``init(preprocessing:)``) are preprocessed the MNIST
/// way: the paper's uneven light divided away, the ink found, ruled lines
/// and specks set aside, the digit cropped, scaled so the longer side is 20
/// pixels and centred by centre of mass. ``report`` says what the
/// preprocessing found.
public struct Image: Sendable, Hashable {
    /// The side of the square image: 28.
    public static let side = Int(DIGIT_IMAGE_SIDE)
    /// The number of pixels: 784.
    public static let pixelCount = Int(DIGIT_IMAGE_PIXELS)

    /// The 784 pixels, row after row.
    public let pixels: [UInt8]
    /// What preprocessing found; `nil` for pixels given as they are.
    public let report: ImageReport?

    /// Wraps 784 pixels that are already in model format (as in MNIST).
    /// - Throws: ``DigitError`` (`.argument`) for any other count.
    public init(pixels: [UInt8]) throws {
        guard pixels.count == Image.pixelCount else {
            throw DigitError(.argument, "an image needs \(Image.pixelCount) pixels, not \(pixels.count)")
        }
        self.pixels = pixels
        report = nil
    }

    /// Unchecked initializer for pixel arrays known to hold 784 values.
    init(unchecked pixels: [UInt8], report: ImageReport?) {
        self.pixels = pixels
        self.report = report
    }

    /// Fills 784 pixels and a report with a C call; the result is checked.
    private static func make(
        _ fill: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<digit_image_report>) -> digit_status
    ) throws -> Image {
        var status = DIGIT_OK
        var report = digit_image_report()
        digit_image_report_init(&report)
        let pixels = [UInt8](unsafeUninitializedCapacity: pixelCount) { buffer, count in
            status = fill(buffer.baseAddress!, &report)
            count = status == DIGIT_OK ? pixelCount : 0
        }
        try check(status)
        return Image(unchecked: pixels, report: ImageReport(report))
    }

    /// Decodes an image file (PNG of any colour type and bit depth, or
    /// JPEG, baseline or progressive) and preprocesses it.
    /// - Throws: ``DigitError`` naming the file: `.io` if it cannot be read,
    ///   `.format` if it is no valid PNG or JPEG (or a CMYK JPEG, or over
    ///   the size limits), `.image` if it holds no ink.
    public init(contentsOf url: URL) throws {
        self = try url.withCPath { path in try Image.make { digit_image_load(path, $0, $1) } }
    }

    /// Decodes image data already in memory (PNG or JPEG) and preprocesses
    /// it; errors say `<memory>`.
    public init(data: Data) throws {
        self = try data.withUnsafeBytes { raw in
            try Image.make { digit_image_load_memory(raw.baseAddress, raw.count, $0, $1) }
        }
    }

    /// Preprocesses a raw bitmap of any size, layout and sample type.
    /// - Throws: ``DigitError`` (`.argument`, naming the field) for a bitmap
    ///   that does not describe its buffer, `.image` when it holds no ink.
    public init(preprocessing bitmap: Bitmap) throws {
        self = try bitmap.withCPixels { pixels in
            try Image.make { digit_image_preprocess(pixels, $0, $1) }
        }
    }

    /// The pixel at `row`, `column` (both 0…27).
    public subscript(row: Int, column: Int) -> UInt8 {
        pixels[row * Image.side + column]
    }

    /// Writes the image as a 28×28 8-bit grayscale PNG (atomically).
    public func savePNG(to url: URL) throws {
        try Image.savePNG(gray: pixels, width: Image.side, height: Image.side, to: url)
    }

    /// Writes any 8-bit grayscale bitmap (row-major, `width × height`
    /// values) as a PNG file, atomically.
    public static func savePNG(gray: [UInt8], width: Int, height: Int, to url: URL) throws {
        guard width > 0, height > 0, gray.count == width * height else {
            throw DigitError(.argument, "\(url.path): a \(width)x\(height) bitmap needs \(max(0, width) * max(0, height)) pixels, not \(gray.count)")
        }
        let w = try cInt(width, "width"), h = try cInt(height, "height")
        try url.withCPath { path in
            try gray.withUnsafeBufferPointer { g in
                try check(digit_image_save_png(path, g.baseAddress, w, h))
            }
        }
    }
}

/// What preprocessing found in a picture: its format and size, the EXIF
/// orientation applied, how many digit-sized marks it held, where the digit
/// was, and warnings when it may not be one digit.
public struct ImageReport: Sendable, Hashable {
    /// `"png"`, `"jpeg"` or `"pixels"`.
    public let format: String
    /// The size as stored (width, height).
    public let storedSize: (width: Int, height: Int)
    /// The size decoded: after JPEG DCT scaling and EXIF orientation.
    public let decodedSize: (width: Int, height: Int)
    /// The EXIF orientation applied, 1…8 (1: none).
    public let orientation: Int
    /// Separate digit-sized ink marks found.
    public let marks: Int
    /// The library's warning names, e.g. `"several-marks"`, `"not-digit-like"`, `"reduced"`.
    public let warnings: [String]
    /// The digit's box in the decoded picture: x, y, width, height.
    public let inkBox: (x: Int, y: Int, width: Int, height: Int)

    init(_ r: digit_image_report) {
        format = withUnsafeBytes(of: r.format) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        storedSize = (Int(r.width), Int(r.height))
        decodedSize = (Int(r.decoded_width), Int(r.decoded_height))
        orientation = Int(r.orientation)
        marks = Int(r.marks)
        warnings = (0..<32).compactMap { bit -> String? in
            let flag = UInt32(1) << UInt32(bit)
            guard r.warnings & flag != 0, let name = digit_image_warning_name(flag) else { return nil }
            return String(cString: name)
        }
        inkBox = (Int(r.ink_x), Int(r.ink_y), Int(r.ink_width), Int(r.ink_height))
    }

    public static func == (a: ImageReport, b: ImageReport) -> Bool {
        a.format == b.format && a.storedSize == b.storedSize && a.decodedSize == b.decodedSize
            && a.orientation == b.orientation && a.marks == b.marks && a.warnings == b.warnings
            && a.inkBox == b.inkBox
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(format)
        hasher.combine(marks)
        hasher.combine(warnings)
    }
}

/// A raw bitmap handed to ``Image/init(preprocessing:)``: rows of pixels of
/// 1 (gray), 2 (gray and alpha), 3 (RGB) or 4 (RGBA) channels, each sample
/// 8-bit, 16-bit or a float 0…1.
public struct Bitmap: Sendable {
    /// The samples, in one of three types.
    public enum Samples: Sendable {
        case uint8([UInt8])
        case uint16([UInt16])
        case float([Float])
    }

    public let samples: Samples
    public let width: Int
    public let height: Int
    public let channels: Int
    /// Samples from one row to the next; `nil`: `width × channels`.
    public let rowStride: Int?

    /// A bitmap of `width × height` pixels of `channels` samples each.
    public init(_ samples: Samples, width: Int, height: Int, channels: Int = 1, rowStride: Int? = nil) {
        self.samples = samples
        self.width = width
        self.height = height
        self.channels = channels
        self.rowStride = rowStride
    }

    /// An 8-bit gray bitmap (dark ink on light paper is fine too).
    public init(gray: [UInt8], width: Int, height: Int) {
        self.init(.uint8(gray), width: width, height: height)
    }

    /// Runs `body` with a digit_pixels describing the samples (the library
    /// checks the description against its rules and names what is wrong).
    func withCPixels<R>(_ body: (UnsafePointer<digit_pixels>) throws -> R) throws -> R {
        var p = digit_pixels()
        digit_pixels_init(&p)
        p.width = try cInt(width, "width")
        p.height = try cInt(height, "height")
        p.channels = try cInt(channels, "channels")
        func run<T>(_ values: [T], _ type: digit_sample_type) throws -> R {
            let needed = (rowStride ?? width * channels) * max(0, height - 1) + width * channels
            guard values.count >= needed, width > 0, height > 0 else {
                throw DigitError(.argument, "a \(width)x\(height) bitmap of \(channels) channel(s) needs \(max(0, needed)) samples, not \(values.count)")
            }
            p.type = type
            p.stride = (rowStride ?? 0) * MemoryLayout<T>.stride
            return try values.withUnsafeBufferPointer { buffer in
                p.data = UnsafeRawPointer(buffer.baseAddress)
                return try body(&p)
            }
        }
        switch samples {
        case .uint8(let v): return try run(v, DIGIT_SAMPLE_U8)
        case .uint16(let v): return try run(v, DIGIT_SAMPLE_U16)
        case .float(let v): return try run(v, DIGIT_SAMPLE_F32)
        }
    }
}
