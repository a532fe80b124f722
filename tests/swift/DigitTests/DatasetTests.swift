// SPDX-License-Identifier: MIT
import Digit
import Foundation
import Testing

@Suite("Dataset")
struct DatasetTests {
    @Test func loadsIDXPair() throws {
        let dir = try TemporaryDirectory()
        let s = Synthetic.samples(count: 20)
        let images = dir.file("imgs.idx"), labels = dir.file("labels.idx")
        try Synthetic.idxImages(s.pixels).write(to: images)
        try Synthetic.idxLabels(s.labels).write(to: labels)
        let dataset = try Dataset(contentsOf: images, labels: labels)
        #expect(dataset.count == 20)
        #expect(dataset.labels == s.labels)
        #expect(dataset.pixels == s.pixels)
        #expect(dataset[3].label == Int(s.labels[3]))
        #expect(dataset[3].image.pixels == Array(s.pixels[3 * 784 ..< 4 * 784]))
        #expect(dataset.map(\.label) == s.labels.map(Int.init))
        #expect(dataset.images.count == 20 && dataset.images[19] == dataset[19].image)
    }

    @Test func loadsMNISTDirectory() throws {
        let dir = try TemporaryDirectory()
        try Synthetic.writeMNIST(to: dir.url, train: 30, test: 12)
        #expect(try Dataset(mnistDirectory: dir.url, split: .train).count == 30)
        #expect(try Dataset(mnistDirectory: dir.url, split: .test).count == 12)
    }

    @Test func slices() throws {
        let dataset = try Synthetic.dataset(count: 10)
        let part = try dataset.slice(2..<6)
        #expect(part.count == 4)
        #expect(part.labels == Array(dataset.labels[2..<6]))
        #expect(part[0].image == dataset[2].image)
        #expect(try dataset.prefix(count: 3).count == 3)
        #expect(try dataset.prefix(count: 99).count == 10)
        #expect(throws: DigitError.self) { try dataset.slice(8..<12) }
    }

    @Test func inMemoryFromImages() throws {
        let s = Synthetic.samples(count: 2)
        let images = try [Image(pixels: Array(s.pixels[0..<784])), Image(pixels: Array(s.pixels[784..<1568]))]
        let dataset = try Dataset(images: images, labels: s.labels.map(Int.init))
        #expect(dataset.count == 2)
        let bad = #expect(throws: DigitError.self) { try Dataset(images: images, labels: [1, 12]) }
        #expect(bad?.message.contains("12") == true)
        #expect(throws: DigitError.self) { try Dataset(images: images, labels: [1]) }
    }

    @Test func mismatchedFilesAreReportedByName() throws {
        let dir = try TemporaryDirectory()
        let s = Synthetic.samples(count: 5)
        let images = dir.file("five-images"), labels = dir.file("four-labels")
        try Synthetic.idxImages(s.pixels).write(to: images)
        try Synthetic.idxLabels(Array(s.labels.prefix(4))).write(to: labels)
        let error = #expect(throws: DigitError.self) { try Dataset(contentsOf: images, labels: labels) }
        #expect(error?.code == .format)
        #expect(error?.message.contains("five-images") == true)

        let garbage = dir.file("garbage")
        try Data([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]).write(to: garbage)
        let format = #expect(throws: DigitError.self) { try Dataset(contentsOf: garbage, labels: labels) }
        #expect(format?.message.contains("garbage") == true)

        let missing = #expect(throws: DigitError.self) { try Dataset(mnistDirectory: dir.file("nowhere"), split: .test) }
        #expect(missing?.message.contains("nowhere") == true)
    }

    @Test func readsAFolderOfOwnPictures() throws {
        let dir = try TemporaryDirectory()
        let root = dir.file("mine")
        for digit in [1, 4, 7] {
            let folder = root.appendingPathComponent(String(digit))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for k in 0..<2 {
                try Image.savePNG(gray: Synthetic.paperBitmap(digit, seed: UInt64(k + 1)), width: 84, height: 84,
                                  to: folder.appendingPathComponent("\(k).png"))
            }
        }
        let own = try Dataset(imageFolder: root)
        #expect(own.labels == [1, 1, 4, 4, 7, 7])
        #expect(own[2].image.pixels == (try Image(contentsOf: root.appendingPathComponent("4/0.png"))).pixels)
        let mixed = try Synthetic.dataset(count: 3).appending(own)
        #expect(mixed.count == 9 && Array(mixed.labels.suffix(6)) == own.labels)

        try FileManager.default.createDirectory(at: root.appendingPathComponent("eleven"), withIntermediateDirectories: true)
        let error = #expect(throws: DigitError.self) { try Dataset(imageFolder: root) }
        #expect(error?.message.contains("eleven: not a class folder") == true)
    }
}
