// SPDX-License-Identifier: MIT
import Digit
import Foundation

/// A tiny bitmap font: the digits 0–9 on a 3×5 grid and a right arrow on
/// a 5×5 grid, enough to label tiles "7→2".
enum TinyFont {
    static let height = 5

    /// Rows top to bottom; "#" is ink.
    static let glyphs: [Character: [String]] = [
        "0": ["###", "#.#", "#.#", "#.#", "###"],
        "1": [".#.", "##.", ".#.", ".#.", "###"],
        "2": ["###", "..#", "###", "#..", "###"],
        "3": ["###", "..#", ".##", "..#", "###"],
        "4": ["#.#", "#.#", "###", "..#", "..#"],
        "5": ["###", "#..", "###", "..#", "###"],
        "6": ["###", "#..", "###", "#.#", "###"],
        "7": ["###", "..#", ".#.", ".#.", ".#."],
        "8": ["###", "#.#", "###", "#.#", "###"],
        "9": ["###", "#.#", "###", "..#", "###"],
        "→": ["..#..", "...#.", "#####", "...#.", "..#.."],
    ]

    /// Width of `text` in font pixels (1 pixel between glyphs).
    static func width(of text: String) -> Int {
        let widths = text.compactMap { glyphs[$0]?.first?.count }
        return widths.reduce(0, +) + max(0, widths.count - 1)
    }
}

/// An 8-bit grayscale canvas for composing PNG images.
struct GrayCanvas {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, fill: UInt8) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: fill, count: width * height)
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, value: UInt8) {
        for yy in max(0, y)..<min(height, y + h) {
            for xx in max(0, x)..<min(width, x + w) { pixels[yy * width + xx] = value }
        }
    }

    /// Draws a 28×28 image at (x, y), each pixel `scale`×`scale`.
    mutating func draw(_ image: Image, x: Int, y: Int, scale: Int) {
        for row in 0..<Image.side {
            for column in 0..<Image.side {
                fill(x: x + column * scale, y: y + row * scale, width: scale, height: scale, value: image[row, column])
            }
        }
    }

    /// Draws `text` in the tiny font with its top left at (x, y).
    mutating func draw(text: String, x: Int, y: Int, scale: Int, value: UInt8) {
        var cursor = x
        for character in text {
            guard let glyph = TinyFont.glyphs[character] else { continue }
            for (row, line) in glyph.enumerated() {
                for (column, cell) in line.enumerated() where cell == "#" {
                    fill(x: cursor + column * scale, y: y + row * scale, width: scale, height: scale, value: value)
                }
            }
            cursor += (glyph[0].count + 1) * scale
        }
    }
}

/// A contact sheet of misclassified digits, each labelled true→predicted.
enum ErrorGrid {
    struct Item {
        let image: Image
        let actual: Int
        let predicted: Int
    }

    static let scale = 2
    static let columns = 10
    static let gap = 6
    static let labelHeight = TinyFont.height * 2 + 8

    static func render(_ items: [Item]) -> GrayCanvas {
        let tile = Image.side * scale
        let cols = max(1, min(columns, items.count))
        let rows = max(1, (items.count + cols - 1) / cols)
        let cellHeight = tile + labelHeight
        var canvas = GrayCanvas(width: gap + cols * (tile + gap), height: gap + rows * (cellHeight + gap), fill: 96)
        for (i, item) in items.enumerated() {
            let x = gap + (i % cols) * (tile + gap)
            let y = gap + (i / cols) * (cellHeight + gap)
            canvas.draw(item.image, x: x, y: y, scale: scale)
            canvas.fill(x: x, y: y + tile, width: tile, height: labelHeight, value: 255)
            let text = "\(item.actual)→\(item.predicted)"
            let textWidth = TinyFont.width(of: text) * 2
            canvas.draw(text: text, x: x + (tile - textWidth) / 2, y: y + tile + 4, scale: 2, value: 0)
        }
        return canvas
    }
}
