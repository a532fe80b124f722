import CDigit
import Foundation

/// One 28×28 grayscale input image, the way the models see it: 784 pixels,
/// row-major, 0…255 with the ink bright (MNIST polarity).
///
/// Images decoded from files (``init(pngAt:)``) or from arbitrary bitmaps
/// (``init(preprocessing:width:height:)``) are preprocessed the MNIST way:
/// turned gray, ink made bright, cropped to the ink, scaled so the longer
/// side is 20 pixels and centred by centre of mass.
public struct Image: Sendable, Hashable {
    /// The side of the square image: 28.
    public static let side = Int(DIGIT_IMAGE_SIDE)
    /// The number of pixels: 784.
    public static let pixelCount = Int(DIGIT_IMAGE_PIXELS)

    /// The 784 pixels, row after row.
    public let pixels: [UInt8]

    /// Wraps 784 pixels that are already in model format (as in MNIST).
    /// - Throws: ``DigitError`` (`.argument`) for any other count.
    public init(pixels: [UInt8]) throws {
        guard pixels.count == Image.pixelCount else {
            throw DigitError(.argument, "an image needs \(Image.pixelCount) pixels, not \(pixels.count)")
        }
        self.pixels = pixels
    }

    /// Unchecked initializer for pixel arrays known to hold 784 values.
    init(unchecked pixels: [UInt8]) { self.pixels = pixels }

    /// Fills 784 pixels with a C call; the result is checked.
    private static func make(_ fill: (UnsafeMutablePointer<UInt8>) -> digit_status) throws -> Image {
        var status = DIGIT_OK
        let pixels = [UInt8](unsafeUninitializedCapacity: pixelCount) { buffer, count in
            status = fill(buffer.baseAddress!)
            count = status == DIGIT_OK ? pixelCount : 0
        }
        try check(status)
        return Image(unchecked: pixels)
    }

    /// Decodes a PNG file (any colour type or bit depth) and preprocesses it.
    /// - Throws: ``DigitError`` naming the file: `.io` if it cannot be read,
    ///   `.format` if it is not a valid PNG, `.image` if it holds no ink.
    public init(pngAt url: URL) throws {
        self = try url.withCPath { path in try Image.make { digit_image_load_png(path, $0) } }
    }

    /// Decodes PNG data already in memory and preprocesses it.
    public init(pngData data: Data) throws {
        self = try data.withUnsafeBytes { raw in
            try Image.make { digit_image_load_png_memory(raw.baseAddress, raw.count, $0) }
        }
    }

    /// Preprocesses an 8-bit grayscale bitmap of any size (row-major,
    /// `width × height` values; dark ink on light paper is fine too).
    public init(preprocessing gray: [UInt8], width: Int, height: Int) throws {
        guard width > 0, height > 0, gray.count == width * height else {
            throw DigitError(.argument, "a \(width)x\(height) bitmap needs \(max(0, width) * max(0, height)) pixels, not \(gray.count)")
        }
        let w = try cInt(width, "width"), h = try cInt(height, "height")
        self = try gray.withUnsafeBufferPointer { g in
            try Image.make { digit_image_preprocess_gray(g.baseAddress, w, h, $0) }
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
