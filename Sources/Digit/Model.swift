// SPDX-License-Identifier: MIT
import CDigit
import Synchronization
import Foundation

/// A convolutional network that recognises handwritten digits.
///
/// A model is created untrained from a ``Preset`` or loaded from a
/// safetensors file (written by ``save(to:)`` or by PyTorch's
/// `safetensors.torch.save_file`), then used to classify images, trained
/// and saved.
///
/// ```swift
/// let model = try Model(contentsOf: URL(fileURLWithPath: "model.safetensors"))
/// let prediction = try model.predict(Image(contentsOf: URL(fileURLWithPath: "digit.png")))
/// print(prediction.digit, prediction.confidence)
/// ```
///
/// ## Concurrency
/// `Model` is `Sendable`: any number of threads may call the reading
/// methods (`predict`, `evaluate`, `save`, the properties) at once, while
/// the mutating ones (`train`, `setMetadata`, `withUnsafeMutableWeights`)
/// wait for exclusive access, which an internal readers–writer lock
/// provides. A progress closure of a training run may use the model it is
/// training (it is called between batches) but must not start another run.
public final class Model: @unchecked Sendable {
    // @unchecked: every access to `handle` goes through `lock` — shared for
    // the library's const functions, which it documents as safe to call
    // concurrently, exclusive for everything that modifies the model.
    let handle: OpaquePointer
    let lock = ReadWriteLock()
    private let training = Atomic<Bool>(false)

    private init(handle: OpaquePointer) { self.handle = handle }

    deinit { digit_model_free(handle) }

    /// Calls a C function that hands out a new model and wraps it.
    private static func make(_ body: (UnsafeMutablePointer<OpaquePointer?>) throws -> digit_status) throws -> OpaquePointer {
        var out: OpaquePointer?
        try check(body(&out))
        guard let out else { throw DigitError(.memory, "libdigit returned no model") }
        return out
    }

    // MARK: Creating and loading

    /// A new, untrained model of architecture `preset`, its weights
    /// initialised as PyTorch does (Kaiming-uniform) from `seed`.
    /// (A name from elsewhere becomes a preset through the failable
    /// `Preset(rawValue:)`.)
    public init(preset: Preset = .basic, seed: UInt64 = 1) throws {
        handle = try Model.make { digit_model_create(preset.rawValue, seed, $0) }
    }

    /// Loads a model from a safetensors file. Every length, offset and
    /// shape in the file is validated; the architecture is read from its
    /// metadata or inferred from its tensors.
    /// - Throws: ``DigitError`` naming the file: `.io` when it cannot be
    ///   read, `.format` when it is not a valid model.
    public init(contentsOf url: URL) throws {
        handle = try url.withCPath { path in try Model.make { digit_model_load(path, $0) } }
    }

    /// Loads a model from safetensors data already in memory.
    public init(data: Data) throws {
        handle = try data.withUnsafeBytes { raw in
            try Model.make { digit_model_load_memory(raw.baseAddress, raw.count, $0) }
        }
    }

    /// An independent deep copy: weights and metadata.
    public func copy() throws -> Model {
        let h = try lock.withReadLock { try Model.make { digit_model_clone(handle, $0) } }
        return Model(handle: h)
    }

    /// Saves the model as a safetensors file (F32 tensors under PyTorch
    /// `state_dict` names; architecture, normalization and metadata in the
    /// header). Atomic: on failure the file is left as it was.
    public func save(to url: URL) throws {
        try url.withCPath { path in
            try lock.withReadLock { try check(digit_model_save(handle, path)) }
        }
    }

    // MARK: Describing

    /// The architecture, e.g. ``Preset/basic``. Always one the library
    /// knows: loading refuses any other.
    public var preset: Preset {
        Preset(known: lock.withReadLock { String(cString: digit_model_arch(handle)) })
    }

    /// The number of trainable parameters (basic: 421,642).
    public var parameterCount: Int {
        lock.withReadLock { digit_model_param_count(handle) }
    }

    /// One row of the layer table.
    public struct Layer: Sendable, Hashable {
        /// The layer's name, e.g. `"conv1"`.
        public let name: String
        /// Its type and parameters, e.g. `"conv2d 1->32 k3 p1"`.
        public let summary: String
        /// The output shape for one image; flat layers are `[n, 1, 1]`.
        public let outputShape: Shape
        /// Trainable parameters of this layer.
        public let parameterCount: Int
    }

    /// A per-image tensor shape: channels × height × width.
    public struct Shape: Sendable, Hashable, CustomStringConvertible {
        /// Channels (or features, for flat layers).
        public let channels: Int
        /// Height in pixels (1 for flat layers).
        public let height: Int
        /// Width in pixels (1 for flat layers).
        public let width: Int
        /// A shape of `channels × height × width`.
        public init(channels: Int, height: Int, width: Int) {
            self.channels = channels
            self.height = height
            self.width = width
        }
        /// Whether this is a flat vector (height and width 1).
        public var isFlat: Bool { height == 1 && width == 1 }
        /// `"32x28x28"`, or `"128"` for a flat layer.
        public var description: String { isFlat ? "\(channels)" : "\(channels)x\(height)x\(width)" }
    }

    /// The layers, input to output.
    public var layers: [Layer] {
        lock.withReadLock {
            (0..<digit_model_layer_count(handle)).compactMap { i in
                var info = digit_layer_info()
                digit_layer_info_init(&info)
                guard digit_model_layer(handle, i, &info) == DIGIT_OK else { return nil }
                return Layer(
                    name: String(cString: info.name),
                    summary: String(cString: info.description),
                    outputShape: Shape(channels: Int(info.out_channels), height: Int(info.out_height),
                                       width: Int(info.out_width)),
                    parameterCount: info.param_count)
            }
        }
    }

    /// One weight tensor, in `state_dict` order.
    public struct Tensor: Sendable, Hashable {
        /// Its PyTorch name, e.g. `"conv1.weight"`.
        public let name: String
        /// Its shape, e.g. `[32, 1, 3, 3]`.
        public let shape: [Int]
        /// Where it starts in ``Model/weights``.
        public let offset: Int
        /// The number of values.
        public let count: Int
    }

    /// The weight tensors in `state_dict` order.
    public var tensors: [Tensor] {
        lock.withReadLock {
            (0..<digit_model_tensor_count(handle)).compactMap { i in
                var info = digit_tensor_info()
                digit_tensor_info_init(&info)
                guard digit_model_tensor(handle, i, &info) == DIGIT_OK else { return nil }
                let shape = withUnsafeBytes(of: info.shape) { Array($0.bindMemory(to: Int32.self)) }
                return Tensor(name: String(cString: info.name),
                              shape: shape.prefix(Int(info.rank)).map(Int.init),
                              offset: info.offset, count: info.count)
            }
        }
    }

    /// A copy of all weights as one array, laid out as ``tensors`` say.
    public var weights: [Float] {
        lock.withReadLock {
            let count = digit_model_param_count(handle)
            guard let base = digit_model_weights(handle) else { return [] }
            return Array(UnsafeBufferPointer(start: base, count: count))
        }
    }

    /// Gives `body` exclusive, writable access to the weights.
    /// - Throws: ``DigitError`` (`.busy`) from a progress closure of a run
    ///   training this model; otherwise what `body` throws.
    public func withUnsafeMutableWeights<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) throws -> R {
        try lock.withWriteLock {
            let count = digit_model_param_count(handle)
            guard let base = digit_model_weights_mutable(handle) else { throw DigitError(status: DIGIT_ERR_BUSY) }
            return try body(UnsafeMutableBufferPointer(start: base, count: count))
        }
    }

    /// The printable summary: architecture, normalization, layer table and
    /// total parameters.
    public var summary: String {
        lock.withReadLock {
            let needed = digit_model_summary(handle, nil, 0)
            var buffer = [CChar](repeating: 0, count: needed + 1)
            _ = digit_model_summary(handle, &buffer, buffer.count)
            return String(decoding: buffer.prefix(needed).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The input normalization the model applies itself: `(x/255 - mean) / std`.
    public struct Normalization: Sendable, Hashable {
        /// Subtracted from each pixel scaled to 0…1.
        public let mean: Float
        /// The result is divided by this.
        public let std: Float
    }

    /// The model's input normalization.
    public var normalization: Normalization {
        lock.withReadLock {
            var mean: Float = 0, std: Float = 1
            digit_model_normalization(handle, &mean, &std)
            return Normalization(mean: mean, std: std)
        }
    }

    // MARK: Metadata

    /// The metadata keys, in insertion order.
    public var metadataKeys: [String] {
        lock.withReadLock { unlockedMetadataKeys() }
    }

    private func unlockedMetadataKeys() -> [String] {
        var keys: [String] = []
        while let key = digit_model_metadata_key(handle, keys.count) {
            keys.append(String(cString: key))
        }
        return keys
    }

    /// All metadata entries, in insertion order.
    public var metadataEntries: [(key: String, value: String)] {
        lock.withReadLock {
            unlockedMetadataKeys().compactMap { key in
                digit_model_metadata(handle, key).map { (key, String(cString: $0)) }
            }
        }
    }

    /// The free-form string metadata saved with the model, e.g.
    /// `"trained_with"` or `"test_accuracy"`. Set entries with
    /// ``setMetadata(_:forKey:)``.
    public var metadata: [String: String] {
        Dictionary(metadataEntries, uniquingKeysWith: { _, last in last })
    }

    /// The metadata value for `key`, if any.
    public subscript(metadata key: String) -> String? {
        lock.withReadLock { digit_model_metadata(handle, key).map { String(cString: $0) } }
    }

    /// Adds or replaces one metadata entry (saved by ``save(to:)``).
    /// - Throws: ``DigitError`` (`.argument`) for an empty key or one the
    ///   library reserves (`format`, `arch`, `mean`, `std`).
    public func setMetadata(_ value: String, forKey key: String) throws {
        try lock.withWriteLock { try check(digit_model_set_metadata(handle, key, value)) }
    }

    /// Removes the entry for `key`, if there is one.
    /// - Throws: ``DigitError`` (`.argument`) for a reserved key.
    public func removeMetadata(forKey key: String) throws {
        try lock.withWriteLock { try check(digit_model_remove_metadata(handle, key)) }
    }

    /// Adds or replaces several entries, in the sequence's order.
    public func setMetadata<S: Sequence>(_ entries: S) throws where S.Element == (key: String, value: String) {
        try lock.withWriteLock {
            for (key, value) in entries { try check(digit_model_set_metadata(handle, key, value)) }
        }
    }

    // MARK: Inference

    /// Classifies one image.
    public func predict(_ image: Image) throws -> Prediction {
        try predict([image])[0]
    }

    /// Classifies a batch of images in one call.
    public func predict(_ images: [Image]) throws -> [Prediction] {
        let flat = images.flatMap(\.pixels)
        return try flat.withUnsafeBufferPointer { try predict($0) }
    }

    /// Classifies a batch of images stored one after another in a flat
    /// buffer of `count × 784` pixels (0…255, ink bright, as MNIST).
    /// - Throws: ``DigitError`` (`.argument`) when the length is not a
    ///   whole number of images.
    public func predict(_ batch: UnsafeBufferPointer<UInt8>) throws -> [Prediction] {
        let count = try batchCount(batch.count)
        guard count > 0 else { return [] }
        return try run(count) { out, labels in
            digit_predict_u8(handle, batch.baseAddress, count, DIGIT_OUTPUT_PROBABILITIES, out, labels)
        }
    }

    /// Classifies a batch stored as in ``predict(_:)-(UnsafeBufferPointer<UInt8>)``
    /// with pixels scaled to 0…1.
    public func predict(_ batch: UnsafeBufferPointer<Float>) throws -> [Prediction] {
        let count = try batchCount(batch.count)
        guard count > 0 else { return [] }
        return try run(count) { out, labels in
            digit_predict_f32(handle, batch.baseAddress, count, DIGIT_OUTPUT_PROBABILITIES, out, labels)
        }
    }

    private func batchCount(_ values: Int) throws -> Int {
        guard values % Image.pixelCount == 0 else {
            throw DigitError(.argument, "\(values) pixels is not a whole number of \(Image.pixelCount)-pixel images")
        }
        return values / Image.pixelCount
    }

    private func run(_ count: Int, _ call: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) -> digit_status) throws -> [Prediction] {
        var probabilities = [Float](repeating: 0, count: count * 10)
        var labels = [Int32](repeating: 0, count: count)
        let status = lock.withReadLock {
            probabilities.withUnsafeMutableBufferPointer { p in
                labels.withUnsafeMutableBufferPointer { l in call(p.baseAddress!, l.baseAddress!) }
            }
        }
        try check(status)
        return (0..<count).map { i in
            Prediction(digit: Int(labels[i]), probabilities: Array(probabilities[i * 10 ..< i * 10 + 10]))
        }
    }

    // MARK: Evaluation

    /// Classifies every image of `dataset` and compares with its labels.
    public func evaluate(on dataset: Dataset) throws -> Evaluation {
        var result = digit_evaluation()
        digit_evaluation_init(&result)
        try lock.withReadLock { try check(digit_evaluate(handle, dataset.handle, &result)) }
        return Evaluation(result)
    }

    // MARK: Training support

    /// Marks the model as training for the duration of `body`, under the
    /// write lock; refuses a nested run.
    func exclusiveTraining<R>(_ body: () throws -> R) throws -> R {
        try lock.withWriteLock {
            guard !training.exchange(true, ordering: .acquiring) else {
                throw DigitError(.busy, "the model is already being trained")
            }
            defer { training.store(false, ordering: .releasing) }
            return try body()
        }
    }
}

extension Model: CustomStringConvertible {
    /// `"Model(basic, 421642 parameters)"`.
    public var description: String { "Model(\(preset), \(parameterCount) parameters)" }
}
