// SPDX-License-Identifier: MIT
/// What a model makes of one image: the most likely digit and the
/// probability of each of the ten.
public struct Prediction: Sendable, Hashable {
    /// One digit and its probability.
    public struct Candidate: Sendable, Hashable {
        /// The digit, 0…9.
        public let digit: Int
        /// Its probability, 0…1.
        public let probability: Float

        /// Pairs a digit with its probability.
        public init(digit: Int, probability: Float) {
            self.digit = digit
            self.probability = probability
        }
    }

    /// The most likely digit, 0…9.
    public let digit: Int
    /// The softmax probability of each digit 0…9; they sum to 1.
    public let probabilities: [Float]

    /// Makes a prediction from ten probabilities; `digit` is their argmax.
    public init(probabilities: [Float]) {
        precondition(probabilities.count == 10, "a prediction has 10 probabilities")
        var best = 0
        for d in 1..<probabilities.count where probabilities[d] > probabilities[best] { best = d }
        self.init(digit: best, probabilities: probabilities)
    }

    init(digit: Int, probabilities: [Float]) {
        self.digit = digit
        self.probabilities = probabilities
    }

    /// The probability of ``digit``.
    public var confidence: Float { probabilities[digit] }

    /// The `k` most likely digits, most likely first (ties: smaller digit
    /// first). `k` is clamped to 0…10.
    public func top(_ k: Int) -> [Candidate] {
        let candidates = probabilities.enumerated().map { Candidate(digit: $0.offset, probability: $0.element) }
        let sorted = candidates.sorted {
            $0.probability != $1.probability ? $0.probability > $1.probability : $0.digit < $1.digit
        }
        return Array(sorted.prefix(max(0, min(k, sorted.count))))
    }
}
