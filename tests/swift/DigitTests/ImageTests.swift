// SPDX-License-Identifier: MIT
import Digit
import Foundation
import Testing

@Suite("Image")
struct ImageTests {
    @Test func pngRoundTripPreprocesses() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("seven.png")
        let side = 84
        try Image.savePNG(gray: Synthetic.paperBitmap(7, scale: 3), width: side, height: side, to: url)
        let header = try Data(contentsOf: url).prefix(8)
        #expect(header == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))

        let image = try Image(contentsOf: url)
        #expect(image.pixels.count == 784)
        // Ink made bright and centred by centre of mass.
        var mass = 0.0, cx = 0.0, cy = 0.0
        for r in 0..<28 { for c in 0..<28 { let v = Double(image[r, c]); mass += v; cx += v * Double(c); cy += v * Double(r) } }
        #expect(mass > 0)
        #expect(abs(cx / mass - 14) < 1.5 && abs(cy / mass - 14) < 1.5)
        #expect(image[0, 0] == 0)

        #expect(try Image(data: Data(contentsOf: url)) == image)
        let bitmap = Synthetic.paperBitmap(7, scale: 3)
        let raw = try Image(preprocessing: Bitmap(gray: bitmap, width: side, height: side))
        #expect(raw.pixels == image.pixels)
        #expect(raw.report?.format == "pixels" && image.report?.format == "png")
        #expect(image.report?.marks == 1 && image.report?.warnings == [])
        // The same picture as 16-bit RGB and as float gray with a padded row
        // stride: the library reads every layout to the same input.
        let rgb16 = bitmap.flatMap { v in [UInt16](repeating: UInt16(v) * 257, count: 3) }
        #expect(try Image(preprocessing: Bitmap(.uint16(rgb16), width: side, height: side, channels: 3)).pixels == image.pixels)
        var padded: [Float] = []
        for r in 0..<side {
            padded += bitmap[r * side ..< (r + 1) * side].map { Float($0) / 255 }
            padded += [0, 0]
        }
        #expect(try Image(preprocessing: Bitmap(.float(padded), width: side, height: side, rowStride: side + 2)).pixels == image.pixels)

        let copy = dir.file("input.png")
        try image.savePNG(to: copy)
        #expect(FileManager.default.fileExists(atPath: copy.path))
    }

    @Test func refusesBadFiles() throws {
        let dir = try TemporaryDirectory()
        let text = dir.file("notes.png")
        try Data("just text".utf8).write(to: text)
        let format = #expect(throws: DigitError.self) { try Image(contentsOf: text) }
        #expect(format?.code == .format)
        #expect(format?.message.contains("notes.png") == true)

        let blank = dir.file("blank.png")
        try Image.savePNG(gray: [UInt8](repeating: 255, count: 100), width: 10, height: 10, to: blank)
        let noInk = #expect(throws: DigitError.self) { try Image(contentsOf: blank) }
        #expect(noInk?.code == .image)
        #expect(noInk?.message.contains("blank.png") == true)

        let missing = #expect(throws: DigitError.self) { try Image(contentsOf: dir.file("gone.png")) }
        #expect(missing?.code == .io)
    }

    @Test func checksSizes() {
        #expect(throws: DigitError.self) { try Image(pixels: [1, 2, 3]) }
        #expect(throws: DigitError.self) { try Image(preprocessing: Bitmap(gray: [0, 0], width: 3, height: 1)) }
        let channels = #expect(throws: DigitError.self) {
            try Image(preprocessing: Bitmap(.uint8([UInt8](repeating: 0, count: 50)), width: 5, height: 2, channels: 5))
        }
        #expect(channels?.message.contains("channels") == true)
        #expect(throws: DigitError.self) {
            try Image.savePNG(gray: [0], width: 2, height: 2, to: URL(fileURLWithPath: "/tmp/never.png"))
        }
    }
}
