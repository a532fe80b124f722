// SPDX-License-Identifier: MIT
import Digit
import Foundation
import Testing

@Suite("Model")
struct ModelTests {
    @Test func versionAndPresets() {
        #expect(Digit.version.split(separator: ".").count == 3)
        let n = Digit.versionNumber
        #expect(Digit.version == "\(n / 10000).\(n / 100 % 100).\(n % 100)")
        #expect(n >= 20000)
        #expect(Preset.allCases.map(\.rawValue) == ["basic", "compact", "strong", "speedrun"])
        #expect(Preset(rawValue: "compact") == .compact)
        #expect(Preset(rawValue: "huge") == nil)
    }

    @Test(arguments: [(Preset.basic, 421_642), (Preset.compact, 31_898)])
    func createDescribes(preset: Preset, parameters: Int) throws {
        let model = try Model(preset: preset, seed: 3)
        #expect(model.preset.rawValue == preset.rawValue)
        #expect(model.preset == preset)
        #expect(model.parameterCount == parameters)
        let layers = model.layers
        #expect(layers.first?.name == "conv1")
        #expect(layers.last?.outputShape == Model.Shape(channels: 10, height: 1, width: 1))
        #expect(layers.reduce(0) { $0 + $1.parameterCount } == parameters)
        #expect(model.tensors.reduce(0) { $0 + $1.count } == parameters)
        #expect(model.weights.count == parameters)
        #expect(model.summary.contains("total parameters: \(parameters)"))
        #expect(model.metadataEntries.isEmpty)
    }

    @Test func normalization() throws {
        let basic = try Model(preset: .basic).normalization
        #expect(abs(basic.mean - 0.1307) < 1e-6 && abs(basic.std - 0.3081) < 1e-6)
        let compact = try Model(preset: .compact).normalization
        #expect(compact.mean == 0 && compact.std == 1)
    }

    @Test func unknownPresetNameThrowsWithMessage() {
        // Names from elsewhere go through the failable initialiser; no model
        // of an unknown architecture can be asked for.
        #expect(Preset(rawValue: "resnet") == nil)
    }

    @Test func predictionShapesAndProbabilities() throws {
        let model = try Model(preset: .compact, seed: 9)
        let samples = Synthetic.samples(count: 3)
        let predictions = try model.predictFlat(samples.pixels)
        #expect(predictions.count == 3)
        for p in predictions {
            #expect(p.probabilities.count == 10)
            #expect(abs(p.probabilities.reduce(0, +) - 1) < 1e-4)
            #expect(p.probabilities.allSatisfy { $0 >= 0 && $0 <= 1 })
            #expect(p.digit == p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] })
            #expect(p.confidence == p.probabilities[p.digit])
            let top = p.top(3)
            #expect(top.count == 3 && top[0].digit == p.digit)
            #expect(top[0].probability >= top[1].probability && top[1].probability >= top[2].probability)
            #expect(p.top(20).count == 10 && p.top(0).isEmpty)
        }
        // The same images through every entry point give the same answers.
        let nested = stride(from: 0, to: samples.pixels.count, by: 784).map { Array(samples.pixels[$0 ..< $0 + 784]) }
        #expect(try model.predict(nested.map { try Image(pixels: $0) }) == predictions)
        // One image alone may differ from its batch in the last bits (digit.h:
        // the batch size changes how the work is split).
        let single = try model.predict(Image(pixels: nested[1]))
        #expect(single.digit == predictions[1].digit)
        #expect(zip(single.probabilities, predictions[1].probabilities).allSatisfy { abs($0 - $1) < 1e-6 })
        let floats = try model.predictFlat(samples.pixels.map { Float($0) / 255 })
        for (a, b) in zip(floats, predictions) {
            #expect(a.digit == b.digit)
            #expect(zip(a.probabilities, b.probabilities).allSatisfy { abs($0 - $1) < 1e-5 })
        }
        #expect(try model.predictFlat([UInt8]()).isEmpty)
    }

    @Test func predictRejectsBadSizes() throws {
        let model = try Model(preset: .compact)
        let error = #expect(throws: DigitError.self) { try model.predictFlat([UInt8](repeating: 0, count: 785)) }
        #expect(error?.code == .argument)
        #expect(error?.message.contains("785") == true)
        #expect(throws: DigitError.self) { try Image(pixels: [UInt8](repeating: 0, count: 10)) }
    }

    @Test func saveAndLoadRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let model = try Model(preset: .basic, seed: 42)
        try model.setMetadata("unit test", forKey: "trained_with")
        try model.setMetadata([(key: "test_accuracy", value: "0.5"), (key: "note", value: "héllo \"quoted\"")])
        let url = dir.file("model.safetensors")
        try model.save(to: url)

        let loaded = try Model(contentsOf: url)
        #expect(loaded.preset.rawValue == "basic")
        #expect(loaded.weights == model.weights)
        #expect(loaded.metadataKeys == ["trained_with", "test_accuracy", "note"])
        #expect(loaded[metadata: "note"] == "héllo \"quoted\"")
        #expect(loaded.metadata == ["trained_with": "unit test", "test_accuracy": "0.5", "note": "héllo \"quoted\""])
        let images = Synthetic.samples(count: 4).pixels
        #expect(try loaded.predictFlat(images) == model.predictFlat(images))

        let fromData = try Model(data: Data(contentsOf: url))
        #expect(fromData.weights == model.weights)
    }

    @Test func metadataRules() throws {
        let model = try Model(preset: .compact)
        try model.setMetadata("1", forKey: "a")
        try model.setMetadata("2", forKey: "a")
        #expect(model[metadata: "a"] == "2")
        #expect(model[metadata: "missing"] == nil)
        let reserved = #expect(throws: DigitError.self) { try model.setMetadata("x", forKey: "arch") }
        #expect(reserved?.code == .argument)
        #expect(reserved?.message.contains("arch") == true)
        #expect(throws: DigitError.self) { try model.setMetadata("x", forKey: "") }
    }

    @Test func copyIsIndependent() throws {
        let model = try Model(preset: .compact, seed: 1)
        let copy = try model.copy()
        try copy.withUnsafeMutableWeights { $0[0] += 1 }
        try copy.setMetadata("yes", forKey: "copied")
        #expect(copy.weights[0] == model.weights[0] + 1)
        #expect(model[metadata: "copied"] == nil)
    }

    @Test func loadErrorsNameTheFile() throws {
        let dir = try TemporaryDirectory()
        let missing = dir.file("absent.safetensors")
        let io = #expect(throws: DigitError.self) { try Model(contentsOf: missing) }
        #expect(io?.code == .io)
        #expect(io?.message.contains("absent.safetensors") == true)
        #expect(io?.localizedDescription == io?.message)

        let corrupt = dir.file("corrupt.safetensors")
        try Data("this is not a model".utf8).write(to: corrupt)
        let format = #expect(throws: DigitError.self) { try Model(contentsOf: corrupt) }
        #expect(format?.code == .format)
        #expect(format?.message.contains("corrupt.safetensors") == true)
        #expect("\(format!)" == format!.message)
    }

    @Test func concurrentPredictionsAgree() async throws {
        let model = try Model(preset: .compact, seed: 5)
        let pixels = Synthetic.samples(count: 8).pixels
        let expected = try model.predictFlat(pixels)
        try await withThrowingTaskGroup(of: [Prediction].self) { group in
            for _ in 0..<4 { group.addTask { try model.predictFlat(pixels) } }
            for try await result in group { #expect(result == expected) }
        }
    }
}
