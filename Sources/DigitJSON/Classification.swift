// SPDX-License-Identifier: MIT
/// What `digitc classify --json` prints for one image and what
/// `POST /v1/classify` answers: the prediction, and the 28×28 input the model
/// saw so that a client can show it.
public struct ClassificationRecord: Codable, Sendable, Equatable {
    /// One of the most likely digits.
    public struct Candidate: Codable, Sendable, Equatable {
        public var digit: Int
        public var probability: Float

        public init(digit: Int, probability: Float) {
            self.digit = digit
            self.probability = probability
        }
    }

    /// The input as named on the command line; absent in the server's answers.
    public var file: String?
    /// The most likely digit, 0…9.
    public var digit: Int
    /// The probability of `digit`.
    public var confidence: Float
    /// Whether `confidence` is under the caller's threshold (`--min-confidence`,
    /// `min_confidence`); always false without one.
    public var unsure: Bool
    /// The probability of each digit 0…9, summing to 1.
    public var probabilities: [Float]
    /// The `k` most likely digits, most likely first (ties: smaller digit first).
    public var top: [Candidate]
    /// Preprocessing warnings, e.g. "several-marks"; empty when there are none.
    public var warnings: [String]
    /// The preprocessed image: 28 rows of 28 values 0…255, ink bright
    /// (MNIST polarity), top row first.
    public var input: [[Int]]

    /// Builds the record from a model's output.
    /// - Parameters:
    ///   - probabilities: the ten softmax outputs.
    ///   - pixels: the 784 pixels the model read, row-major.
    ///   - top: how many candidates to list, clamped to 1…10.
    ///   - minConfidence: answers under it are marked unsure.
    public init(file: String? = nil, probabilities: [Float], pixels: [UInt8], top k: Int,
                minConfidence: Float? = nil, warnings: [String] = []) {
        precondition(probabilities.count == 10 && pixels.count == 784, "10 probabilities and 784 pixels")
        let ranked = probabilities.enumerated()
            .map { Candidate(digit: $0.offset, probability: $0.element) }
            .sorted { $0.probability != $1.probability ? $0.probability > $1.probability : $0.digit < $1.digit }
        self.file = file
        let best = ranked[0]
        digit = best.digit
        confidence = best.probability
        unsure = minConfidence.map { best.probability < $0 } ?? false
        self.probabilities = probabilities
        top = Array(ranked.prefix(min(max(k, 1), 10)))
        self.warnings = warnings
        input = (0..<28).map { row in pixels[row * 28 ..< row * 28 + 28].map(Int.init) }
    }
}
