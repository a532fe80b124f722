// SPDX-License-Identifier: MIT
import CDigit
import Foundation
import Synchronization

/// Settings of a training run. Start from a preset's defaults and change
/// what you need:
///
/// ```swift
/// var options = TrainingOptions(preset: .basic)   // Adam 0.001, batch 64, 10 epochs
/// options.epochs = 3
/// options.checkpoint = URL(fileURLWithPath: "run.checkpoint.safetensors")
/// ```
public struct TrainingOptions: Sendable, Hashable {
    /// Passes over the training set (1…``maximumEpochs``).
    public var epochs: Int
    /// Images per mini-batch (1…``maximumBatchSize``).
    public var batchSize: Int
    /// Adam's learning rate (betas 0.9, 0.999; eps 1e-8); must be positive.
    public var learningRate: Double
    /// Epochs after which the learning rate is multiplied by ``gamma``;
    /// positive, increasing, at most ``maximumMilestones``.
    public var milestones: [Int]
    /// The factor applied at each milestone; must be positive.
    public var gamma: Double
    /// Seeds the shuffling order. The same seed and thread count give a
    /// bitwise identical model.
    public var seed: UInt64
    /// Worker threads; 0 uses all cores (at most ``maximumThreads``).
    public var threads: Int
    /// When set, the training state (weights, optimizer moments, position)
    /// is written atomically to this file after every epoch and when the
    /// run is cancelled, so that it can be resumed.
    public var checkpoint: URL?

    // Added in libdigit 2.1.

    /// How the learning rate changes over the run.
    public var schedule: Schedule
    /// ``Schedule/oneCycle``: the fraction of all steps spent raising the
    /// rate, in (0, 1) (PyTorch's default 0.3).
    public var pctStart: Double
    /// ``Schedule/oneCycle``: the rate starts at `learningRate / divFactor`
    /// (25) and ends at that divided by `finalDivFactor` (1e4).
    public var divFactor: Double
    public var finalDivFactor: Double
    /// ``Schedule/oneCycle``: Adam's beta1 cycles 0.95 → 0.85 → 0.95
    /// against the rate (PyTorch's `cycle_momentum`), replacing `beta1`.
    public var cycleMomentum: Bool
    /// Adam's betas, each in [0, 1) (0.9, 0.999).
    public var beta1: Double
    public var beta2: Double
    /// Decoupled weight decay (AdamW), ≥ 0; 0 is plain Adam.
    public var weightDecay: Double
    /// Cross-entropy label smoothing in [0, 1].
    public var labelSmoothing: Double
    /// Random affine augmentation of every training image, every epoch.
    public var augmentation: Augmentation

    /// Learning-rate schedules (digit.h's `digit_schedule`).
    public enum Schedule: String, Sendable, Hashable, CaseIterable {
        /// The rate times ``TrainingOptions/gamma`` after each milestone
        /// epoch (no milestones: constant).
        case multistep
        /// PyTorch's OneCycleLR with cosine annealing, per batch, peaking
        /// at ``TrainingOptions/learningRate``.
        case oneCycle = "onecycle"
        /// CosineAnnealingLR over the run's epochs, to 0.
        case cosine
        /// The rate times ``TrainingOptions/gamma`` every epoch.
        case exponential

        var cValue: Int32 {
            switch self {
            case .multistep: return Int32(DIGIT_SCHEDULE_MULTISTEP.rawValue)
            case .oneCycle: return Int32(DIGIT_SCHEDULE_ONECYCLE.rawValue)
            case .cosine: return Int32(DIGIT_SCHEDULE_COSINE.rawValue)
            case .exponential: return Int32(DIGIT_SCHEDULE_EXPONENTIAL.rawValue)
            }
        }

        init(cValue: Int32) {
            self = Schedule.allCases.first { $0.cValue == cValue } ?? .multistep
        }
    }

    /// Random affine maps about the image centre, bilinear sampling; each
    /// range symmetric about 0 (1 for the zoom), all 0: off.
    public struct Augmentation: Sendable, Hashable {
        /// Rotation in degrees, 0…180.
        public var rotate: Double
        /// Zoom fraction: uniform in 1 ± scale, 0…0.5.
        public var scale: Double
        /// Shift as a fraction of the side, each direction, 0…0.5.
        public var shift: Double
        /// Shear in degrees, 0…45.
        public var shear: Double

        public init(rotate: Double = 0, scale: Double = 0, shift: Double = 0, shear: Double = 0) {
            self.rotate = rotate
            self.scale = scale
            self.shift = shift
            self.shear = shear
        }

        /// No augmentation.
        public static let none = Augmentation()
        public var isEnabled: Bool { self != .none }
    }

    /// The defaults of `preset`: Adam 0.001, batches of 64, 10 epochs, and
    /// for ``Preset/compact`` milestones 5 and 8 with gamma 0.01; seed 1,
    /// all cores, no checkpoint.
    public init(preset: Preset = .basic) {
        var o = digit_train_options()
        let status = digit_train_options_init(&o, MemoryLayout<digit_train_options>.size, preset.rawValue)
        precondition(status == DIGIT_OK, "libdigit knows no preset \(preset)")
        self.init(o)
    }

    /// The defaults for training `model` (those of its preset).
    public init(for model: Model) {
        self.init(preset: model.preset)
    }

    /// The library's limits (digit.h's `DIGIT_MAX_*`).
    public static let maximumEpochs = Int(DIGIT_MAX_EPOCHS)
    public static let maximumBatchSize = Int(DIGIT_MAX_BATCH_SIZE)
    public static let maximumMilestones = Int(DIGIT_MAX_MILESTONES)
    public static let maximumThreads = Int(DIGIT_MAX_THREADS)

    /// Checks every setting the way training will, with the library's own
    /// rules and message (e.g. `"epochs must be 1..100000, not 0"`).
    /// - Throws: ``DigitError`` (`.argument`).
    public func validate() throws {
        try withCOptions(preset: Preset.basic.rawValue) { try check(digit_train_options_check(&$0)) }
    }

    /// `count` images of `dataset` from `first` on, as epoch `epoch` (from
    /// 1) of a run with these options augments them (the library's own
    /// draw: the same images training sees): count × 784 pixels.
    /// - Throws: ``DigitError`` (`.argument`) for a bad range or option.
    public func augmentedImages(of dataset: Dataset, first: Int = 0, count: Int, epoch: Int = 1) throws -> [UInt8] {
        guard first >= 0, count >= 0, first + count <= dataset.count else {
            throw DigitError(.argument, "images \(first)..<\(first + count) are outside the dataset of \(dataset.count)")
        }
        var out = [UInt8](repeating: 0, count: count * Int(DIGIT_IMAGE_PIXELS))
        let e = try cInt(epoch, "epoch")
        try withCOptions(preset: Preset.basic.rawValue) { o in
            try dataset.withUnsafePixels { pixels in
                try out.withUnsafeMutableBufferPointer { dst in
                    try check(digit_augment_images(&o, e, pixels.baseAddress! + first * Int(DIGIT_IMAGE_PIXELS),
                                                   first, count, dst.baseAddress))
                }
            }
        }
        return out
    }

    /// Reads the options from a C struct (a preset's defaults or a
    /// checkpoint's run).
    init(_ o: digit_train_options) {
        epochs = Int(o.epochs)
        batchSize = Int(o.batch_size)
        learningRate = o.learning_rate
        milestones = withUnsafeBytes(of: o.milestones) { Array($0.bindMemory(to: Int32.self)) }
            .prefix(Int(o.milestone_count)).map(Int.init)
        gamma = o.gamma
        seed = o.seed
        threads = Int(o.threads)
        checkpoint = nil
        schedule = Schedule(cValue: o.schedule)
        pctStart = o.pct_start
        divFactor = o.div_factor
        finalDivFactor = o.final_div_factor
        cycleMomentum = o.cycle_momentum != 0
        beta1 = o.beta1
        beta2 = o.beta2
        weightDecay = o.weight_decay
        labelSmoothing = o.label_smoothing
        augmentation = Augmentation(rotate: o.augment_rotate, scale: o.augment_scale,
                                    shift: o.augment_shift, shear: o.augment_shear)
    }

    /// Fills a C options struct for `preset` and runs `body` with it (the
    /// checkpoint path stays valid during `body`).
    func withCOptions<R>(preset: String, _ body: (inout digit_train_options) throws -> R) throws -> R {
        var o = digit_train_options()
        try check(digit_train_options_init(&o, MemoryLayout<digit_train_options>.size, preset))
        o.epochs = try cInt(epochs, "epochs")
        o.batch_size = try cInt(batchSize, "batch size")
        o.learning_rate = learningRate
        o.gamma = gamma
        o.seed = seed
        o.threads = try cInt(threads, "threads")
        let capacity = Int(DIGIT_MAX_MILESTONES)
        guard milestones.count <= capacity else {
            throw DigitError(.argument, "\(milestones.count) milestones given; at most \(capacity) are allowed")
        }
        let values = try milestones.map { try cInt($0, "milestone") }
        withUnsafeMutableBytes(of: &o.milestones) { raw in
            let slots = raw.bindMemory(to: Int32.self)
            for (i, v) in values.enumerated() { slots[i] = v }
        }
        o.milestone_count = Int32(values.count)
        o.schedule = schedule.cValue
        o.pct_start = pctStart
        o.div_factor = divFactor
        o.final_div_factor = finalDivFactor
        o.cycle_momentum = cycleMomentum ? 1 : 0
        o.beta1 = beta1
        o.beta2 = beta2
        o.weight_decay = weightDecay
        o.label_smoothing = labelSmoothing
        o.augment_rotate = augmentation.rotate
        o.augment_scale = augmentation.scale
        o.augment_shift = augmentation.shift
        o.augment_shear = augmentation.shear
        guard let checkpoint else { return try body(&o) }
        return try checkpoint.withCPath { path in
            o.checkpoint_path = path
            return try body(&o)
        }
    }
}

/// Progress after one mini-batch.
public struct BatchProgress: Sendable, Hashable {
    /// The epoch, from 1.
    public let epoch: Int
    /// The batch within the epoch, from 1.
    public let batch: Int
    /// Batches in each epoch.
    public let batchesPerEpoch: Int
    /// The mean loss of this batch.
    public let loss: Float
    /// Images trained on in this epoch so far, this batch included.
    public let imagesSeen: Int
    /// The learning rate in use.
    public let learningRate: Double

    /// Makes a progress report (for tests and custom drivers).
    public init(epoch: Int, batch: Int, batchesPerEpoch: Int, loss: Float, imagesSeen: Int, learningRate: Double) {
        self.epoch = epoch
        self.batch = batch
        self.batchesPerEpoch = batchesPerEpoch
        self.loss = loss
        self.imagesSeen = imagesSeen
        self.learningRate = learningRate
    }

    init(_ p: digit_batch_progress) {
        self.init(epoch: Int(p.epoch), batch: Int(p.batch), batchesPerEpoch: Int(p.batches_per_epoch),
                  loss: p.loss, imagesSeen: p.images_seen, learningRate: p.learning_rate)
    }
}

/// Results of one finished epoch.
public struct EpochProgress: Sendable, Hashable {
    /// The epoch, from 1.
    public let epoch: Int
    /// Epochs in the run.
    public let epochs: Int
    /// Mean loss over the epoch's batches.
    public let trainLoss: Double
    /// Mean loss on the test set; `nil` without one.
    public let testLoss: Double?
    /// Accuracy on the test set, 0…1; `nil` without one.
    public let testAccuracy: Double?
    /// Wall time of the epoch's training, in seconds.
    public let seconds: Double
    /// The learning rate used in this epoch.
    public let learningRate: Double

    /// Makes an epoch report (for tests and custom drivers).
    public init(epoch: Int, epochs: Int, trainLoss: Double, testLoss: Double?, testAccuracy: Double?,
                seconds: Double, learningRate: Double) {
        self.epoch = epoch
        self.epochs = epochs
        self.trainLoss = trainLoss
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
        self.learningRate = learningRate
    }

    init(_ p: digit_epoch_progress) {
        self.init(epoch: Int(p.epoch), epochs: Int(p.epochs), trainLoss: p.train_loss,
                  testLoss: p.test_loss.isNaN ? nil : p.test_loss,
                  testAccuracy: p.test_accuracy.isNaN ? nil : p.test_accuracy,
                  seconds: p.seconds, learningRate: p.learning_rate)
    }
}

/// Something that happened during training.
public enum TrainingEvent: Sendable, Hashable {
    /// A mini-batch was trained on.
    case batch(BatchProgress)
    /// An epoch ended (and the test set, if any, was evaluated).
    case epoch(EpochProgress)
}

/// What a progress closure wants next.
public enum TrainingAction: Sendable, Hashable {
    /// Go on training.
    case `continue`
    /// Stop: after a batch event, training ends after that batch, writes
    /// the checkpoint (if configured) and throws a ``DigitError`` with code
    /// `.cancelled`; after an epoch event, it ends there.
    case stop
}

/// Carries the Swift progress closure through the C callbacks' `user` pointer.
private final class ProgressRelay {
    let progress: (TrainingEvent) -> TrainingAction
    var history: [EpochProgress] = []

    init(_ progress: @escaping (TrainingEvent) -> TrainingAction) { self.progress = progress }

    static func from(_ user: UnsafeMutableRawPointer?) -> ProgressRelay {
        Unmanaged<ProgressRelay>.fromOpaque(user!).takeUnretainedValue()
    }
}

private let relayBatch: digit_batch_callback = { p, user in
    ProgressRelay.from(user).progress(.batch(BatchProgress(p!.pointee))) == .stop ? 1 : 0
}

private let relayEpoch: digit_epoch_callback = { p, user in
    let relay = ProgressRelay.from(user)
    let epoch = EpochProgress(p!.pointee)
    relay.history.append(epoch)
    return relay.progress(.epoch(epoch)) == .stop ? 1 : 0
}

extension Model {
    /// Trains the model in place.
    ///
    /// - Parameters:
    ///   - train: the training images.
    ///   - test: evaluated after every epoch, when given.
    ///   - options: defaults to ``TrainingOptions/init(for:)``.
    ///   - checkpoint: a checkpoint written by an earlier run with the same
    ///     options; training continues where that run stopped, producing
    ///     the same model bit for bit as an uninterrupted run.
    ///   - progress: called on the calling thread after every batch and
    ///     every epoch; return ``TrainingAction/stop`` to cancel.
    /// - Returns: the results of each epoch run by this call.
    /// - Throws: ``DigitError``; code `.cancelled` when `progress` stopped
    ///   the run (after the checkpoint was written).
    @discardableResult
    public func train(on train: Dataset, test: Dataset? = nil, options: TrainingOptions? = nil,
                      resumingFrom checkpoint: URL? = nil,
                      progress: (TrainingEvent) -> TrainingAction = { _ in .continue }) throws -> [EpochProgress] {
        try withoutActuallyEscaping(progress) { progress in
            let relay = ProgressRelay(progress)
            defer { withExtendedLifetime(relay) {} }
            let user = Unmanaged.passUnretained(relay).toOpaque()
            try exclusiveTraining {
                let arch = String(cString: digit_model_arch(handle))
                let options = options ?? TrainingOptions(preset: Preset(known: arch))
                try options.withCOptions(preset: arch) { o in
                    o.on_batch = relayBatch
                    o.on_epoch = relayEpoch
                    o.user = user
                    if let checkpoint {
                        try checkpoint.withCPath { path in
                            try check(digit_train(handle, train.handle, test?.handle, &o, path))
                        }
                    } else {
                        try check(digit_train(handle, train.handle, test?.handle, &o, nil))
                    }
                }
            }
            return relay.history
        }
    }

    /// Trains the model on a thread of its own and delivers the progress as
    /// an asynchronous sequence, which finishes when training does (or
    /// throws its error).
    ///
    /// Ending the iteration early (breaking out of the loop, or cancelling
    /// the task that iterates) stops the run after the current batch; the
    /// checkpoint, if configured, is written, and the sequence simply ends.
    ///
    /// ```swift
    /// for try await event in model.trainingEvents(on: train, test: test) {
    ///     if case .epoch(let e) = event { print(e.epoch, e.testAccuracy ?? 0) }
    /// }
    /// ```
    public func trainingEvents(on train: Dataset, test: Dataset? = nil, options: TrainingOptions? = nil,
                               resumingFrom checkpoint: URL? = nil) -> AsyncThrowingStream<TrainingEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: TrainingEvent.self, throwing: Error.self)
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let thread = Thread { [self] in
            do {
                try self.train(on: train, test: test, options: options, resumingFrom: checkpoint) { event in
                    continuation.yield(event)
                    return stop.isSet ? .stop : .continue
                }
                continuation.finish()
            } catch let error as DigitError where error.isCancellation && stop.isSet {
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        thread.name = "libdigit training"
        thread.start()
        return stream
    }
}

/// A one-way flag shared between threads.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// What a checkpoint written by a training run says about that run: enough
/// to resume it with ``Model/train(on:test:options:resumingFrom:progress:)``.
public struct Checkpoint: Sendable, Hashable {
    /// The architecture trained.
    public let preset: Preset
    /// Complete epochs.
    public let epochsDone: Int
    /// Batches of the next epoch already trained.
    public let batchesDone: Int
    /// The options the run used (no checkpoint path).
    public let options: TrainingOptions

    /// Reads the checkpoint file at `url`.
    /// - Throws: ``DigitError`` naming the file: `.io` when it cannot be
    ///   read, `.format` when it is not a libdigit checkpoint.
    public init(contentsOf url: URL) throws {
        var info = digit_checkpoint_info()
        digit_checkpoint_info_init(&info)
        var o = digit_train_options()
        try check(digit_train_options_init(&o, MemoryLayout<digit_train_options>.size, Preset.basic.rawValue))
        try url.withCPath { path in try check(digit_checkpoint_read(path, &info, &o)) }
        let arch = withUnsafeBytes(of: info.arch) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        preset = Preset(known: arch)
        epochsDone = Int(info.epochs_done)
        batchesDone = Int(info.batches_done)
        options = TrainingOptions(o)
    }
}
