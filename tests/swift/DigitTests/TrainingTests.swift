// SPDX-License-Identifier: MIT
import Digit
import Foundation
import Synchronization
import Testing

@Suite("Training")
struct TrainingTests {
    static func quickOptions(epochs: Int = 1) -> TrainingOptions {
        var options = TrainingOptions(preset: .compact)
        options.epochs = epochs
        options.batchSize = 32
        options.threads = 1
        options.learningRate = 0.003
        return options
    }

    @Test func presetDefaults() throws {
        let basic = TrainingOptions(preset: .basic)
        #expect(basic.epochs == 10 && basic.batchSize == 64 && basic.learningRate == 0.001)
        #expect(basic.milestones.isEmpty && basic.seed == 1 && basic.threads == 0 && basic.checkpoint == nil)
        let compact = TrainingOptions(for: try Model(preset: .compact))
        #expect(compact.milestones == [5, 8] && compact.gamma == 0.01)
    }

    @Test func trainsWithProgress() throws {
        let model = try Model(preset: .compact, seed: 2)
        let train = try Synthetic.dataset(count: 160), test = try Synthetic.dataset(count: 40, seed: 99)
        let before = try model.evaluate(on: test)
        var batches: [BatchProgress] = []
        var epochs: [EpochProgress] = []
        let history = try model.train(on: train, test: test, options: Self.quickOptions(epochs: 2)) { event in
            switch event {
            case .batch(let b): batches.append(b)
            case .epoch(let e): epochs.append(e)
            }
            return .continue
        }
        #expect(batches.count == 10)
        #expect(batches.first?.batchesPerEpoch == 5)
        #expect(batches.map(\.batch) == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
        #expect(batches[4].imagesSeen == 160)
        #expect(batches.allSatisfy { $0.loss.isFinite && $0.learningRate == 0.003 })
        #expect(epochs == history)
        #expect(history.map(\.epoch) == [1, 2] && history.allSatisfy { $0.epochs == 2 })
        let last = try #require(history.last)
        let accuracy = try #require(last.testAccuracy)
        let after = try model.evaluate(on: test)
        #expect(abs(accuracy - after.accuracy) < 1e-9)
        #expect(after.loss < before.loss)
    }

    @Test func trainsWithoutTestSet() throws {
        let model = try Model(preset: .compact)
        let history = try model.train(on: try Synthetic.dataset(count: 32), options: Self.quickOptions())
        #expect(history.count == 1)
        #expect(history[0].testLoss == nil && history[0].testAccuracy == nil)
    }

    @Test func cancelWritesCheckpointAndResumeMatches() throws {
        let dir = try TemporaryDirectory()
        let train = try Synthetic.dataset(count: 192)
        var options = Self.quickOptions(epochs: 2)
        options.checkpoint = dir.file("run.checkpoint.safetensors")

        let reference = try Model(preset: .compact, seed: 4)
        try reference.train(on: train, options: Self.quickOptions(epochs: 2))

        let model = try Model(preset: .compact, seed: 4)
        let error = #expect(throws: DigitError.self) {
            try model.train(on: train, options: options) { event in
                if case .batch(let b) = event, b.epoch == 1, b.batch == 4 { return .stop }
                return .continue
            }
        }
        #expect(error?.isCancellation == true)
        #expect(error?.message.contains("cancelled") == true)
        let checkpoint = try #require(options.checkpoint)
        #expect(FileManager.default.fileExists(atPath: checkpoint.path))

        var seen: [BatchProgress] = []
        let resumed = try Model(preset: .compact, seed: 77)  // weights come from the checkpoint
        try resumed.train(on: train, options: options, resumingFrom: checkpoint) { event in
            if case .batch(let b) = event { seen.append(b) }
            return .continue
        }
        #expect(seen.first?.epoch == 1 && seen.first?.batch == 5)
        #expect(resumed.weights == reference.weights)
    }

    @Test func stopAfterEpoch() throws {
        let model = try Model(preset: .compact)
        var epochsSeen = 0
        let error = #expect(throws: DigitError.self) {
            try model.train(on: try Synthetic.dataset(count: 64), options: Self.quickOptions(epochs: 3)) { event in
                if case .epoch = event { epochsSeen += 1; return .stop }
                return .continue
            }
        }
        #expect(error?.code == .cancelled)
        #expect(epochsSeen == 1)
    }

    @Test func progressClosureMayUseTheModel() throws {
        let model = try Model(preset: .compact)
        let probe = Synthetic.samples(count: 1).pixels
        var predictions = 0
        try model.train(on: try Synthetic.dataset(count: 64), options: Self.quickOptions()) { event in
            if case .batch = event, (try? model.predictFlat(probe))?.count == 1 { predictions += 1 }
            _ = model.parameterCount
            return .continue
        }
        #expect(predictions == 2)
        // A nested run is refused rather than corrupting the outer one.
        var nested: Error?
        try model.train(on: try Synthetic.dataset(count: 32), options: Self.quickOptions()) { _ in
            if nested == nil {
                nested = #expect(throws: DigitError.self) {
                    try model.train(on: try Synthetic.dataset(count: 32), options: Self.quickOptions())
                }
            }
            return .continue
        }
        #expect((nested as? DigitError)?.message.contains("already") == true)
    }

    @Test func invalidOptionsAreExplained() throws {
        let model = try Model(preset: .compact)
        let data = try Synthetic.dataset(count: 16)
        var options = Self.quickOptions()
        options.epochs = 0
        let epochs = #expect(throws: DigitError.self) { try model.train(on: data, options: options) }
        #expect(epochs?.code == .argument)
        #expect(epochs?.message.contains("epochs") == true)

        options = Self.quickOptions()
        options.milestones = Array(1...17)
        let milestones = #expect(throws: DigitError.self) { try model.train(on: data, options: options) }
        #expect(milestones?.message.contains("milestones") == true)

        options = Self.quickOptions()
        options.batchSize = -1
        let batch = #expect(throws: DigitError.self) { try model.train(on: data, options: options) }
        #expect(batch?.message.contains("batch size") == true)
    }

    @Test func asyncEvents() async throws {
        let model = try Model(preset: .compact)
        let train = try Synthetic.dataset(count: 64), test = try Synthetic.dataset(count: 20, seed: 3)
        var batches = 0, epochs: [EpochProgress] = []
        for try await event in model.trainingEvents(on: train, test: test, options: Self.quickOptions(epochs: 2)) {
            switch event {
            case .batch: batches += 1
            case .epoch(let e): epochs.append(e)
            }
        }
        #expect(batches == 4)
        #expect(epochs.map(\.epoch) == [1, 2])
    }

    @Test func asyncEventsStopWhenTheLoopEnds() async throws {
        let model = try Model(preset: .compact)
        let train = try Synthetic.dataset(count: 320)
        var options = Self.quickOptions(epochs: 50)
        options.batchSize = 8
        for try await event in model.trainingEvents(on: train, options: options) {
            if case .batch(let b) = event, b.batch == 2 { break }
        }
        // Training ends shortly after: the model becomes free for another run.
        let deadline = Date().addingTimeInterval(20)
        var freed = false
        while Date() < deadline {
            do {
                try model.train(on: try Synthetic.dataset(count: 8), options: Self.quickOptions())
                freed = true
                break
            } catch {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(freed)
    }

    @Test func evaluationStatistics() throws {
        let model = try Model(preset: .compact, seed: 8)
        let data = try Synthetic.dataset(count: 50)
        let e = try model.evaluate(on: data)
        #expect(e.count == 50)
        #expect(e.confusion.count == 10 && e.confusion.allSatisfy { $0.count == 10 })
        #expect(e.confusion.joined().reduce(0, +) == 50)
        #expect(abs(e.accuracy - Double(e.correct) / 50) < 1e-9)
        #expect(e.support == Array(repeating: 5, count: 10))
        #expect(e.recall.allSatisfy { $0 != nil })
        for d in 0..<10 {
            if e.predictedCounts[d] == 0 { #expect(e.precision[d] == nil) }
        }
        #expect(e.confusions.reduce(0) { $0 + $1.count } == 50 - e.correct)

        let empty = Evaluation(loss: 0, accuracy: 0, count: 0, confusion: Array(repeating: Array(repeating: 0, count: 10), count: 10))
        #expect(empty.precision.allSatisfy { $0 == nil } && empty.recall.allSatisfy { $0 == nil })
    }
}
