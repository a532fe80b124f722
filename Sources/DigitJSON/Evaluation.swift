// SPDX-License-Identifier: MIT
/// What `digitc evaluate --json` prints.
public struct EvaluationRecord: Codable, Sendable, Equatable {
    /// Precision and recall of one digit.
    public struct Class: Codable, Sendable, Equatable {
        public var digit: Int
        /// Test images of this digit.
        public var images: Int
        /// Test images classified as this digit.
        public var predicted: Int
        /// null when the digit was never predicted.
        public var precision: Double?
        /// null when the digit is absent from the data.
        public var recall: Double?

        public init(digit: Int, images: Int, predicted: Int, precision: Double?, recall: Double?) {
            self.digit = digit
            self.images = images
            self.predicted = predicted
            self.precision = precision
            self.recall = recall
        }

        // Written out so that a missing precision or recall is an explicit
        // null rather than an absent key: every class has the same fields.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(digit, forKey: .digit)
            try c.encode(images, forKey: .images)
            try c.encode(predicted, forKey: .predicted)
            try c.encode(precision, forKey: .precision)
            try c.encode(recall, forKey: .recall)
        }
    }

    /// The model file.
    public var model: String
    public var architecture: String
    /// The MNIST directory.
    public var data: String
    /// Test images evaluated.
    public var images: Int
    public var correct: Int
    /// correct / images, 0…1.
    public var accuracy: Double
    /// Mean negative log-likelihood.
    public var loss: Double
    /// confusion[true digit][predicted digit], 10 × 10.
    public var confusion: [[Int]]
    /// Per digit 0…9.
    public var classes: [Class]

    public init(model: String, architecture: String, data: String, images: Int, correct: Int,
                accuracy: Double, loss: Double, confusion: [[Int]], classes: [Class]) {
        self.model = model
        self.architecture = architecture
        self.data = data
        self.images = images
        self.correct = correct
        self.accuracy = accuracy
        self.loss = loss
        self.confusion = confusion
        self.classes = classes
    }
}
