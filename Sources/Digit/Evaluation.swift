// SPDX-License-Identifier: MIT
import CDigit

/// How well a model does on a labelled dataset.
public struct Evaluation: Sendable, Hashable {
    /// Mean negative log-likelihood.
    public let loss: Double
    /// Fraction classified correctly, 0…1.
    public let accuracy: Double
    /// Images evaluated.
    public let count: Int
    /// `confusion[trueDigit][predictedDigit]`: how many images of each true
    /// digit were classified as each digit (10 × 10).
    public let confusion: [[Int]]

    /// Makes an evaluation from its parts (`confusion` is 10 × 10).
    public init(loss: Double, accuracy: Double, count: Int, confusion: [[Int]]) {
        precondition(confusion.count == 10 && confusion.allSatisfy { $0.count == 10 },
                     "the confusion matrix is 10x10")
        self.loss = loss
        self.accuracy = accuracy
        self.count = count
        self.confusion = confusion
    }

    init(_ e: digit_evaluation) {
        let flat = withUnsafeBytes(of: e.confusion) { Array($0.bindMemory(to: UInt32.self)) }
        self.init(loss: e.loss, accuracy: e.accuracy, count: e.count,
                  confusion: (0..<10).map { row in flat[row * 10 ..< row * 10 + 10].map(Int.init) })
    }

    /// Images classified correctly (the diagonal of ``confusion``).
    public var correct: Int { (0..<10).reduce(0) { $0 + confusion[$1][$1] } }

    /// How many images of each true digit there were (row sums).
    public var support: [Int] { confusion.map { $0.reduce(0, +) } }

    /// How many images were classified as each digit (column sums).
    public var predictedCounts: [Int] { (0..<10).map { d in confusion.reduce(0) { $0 + $1[d] } } }

    /// Per digit: of the images classified as it, the fraction that really
    /// are it; `nil` for a digit never predicted.
    public var precision: [Double?] {
        let predicted = predictedCounts
        return (0..<10).map { d in predicted[d] == 0 ? nil : Double(confusion[d][d]) / Double(predicted[d]) }
    }

    /// Per digit: of the images that are it, the fraction classified as it;
    /// `nil` for a digit absent from the dataset.
    public var recall: [Double?] {
        let actual = support
        return (0..<10).map { d in actual[d] == 0 ? nil : Double(confusion[d][d]) / Double(actual[d]) }
    }

    /// The misclassifications, most frequent first: (true, predicted, count).
    public var confusions: [(actual: Int, predicted: Int, count: Int)] {
        var result: [(actual: Int, predicted: Int, count: Int)] = []
        for a in 0..<10 {
            for p in 0..<10 where a != p && confusion[a][p] > 0 {
                result.append((a, p, confusion[a][p]))
            }
        }
        return result.sorted { $0.count != $1.count ? $0.count > $1.count : ($0.actual, $0.predicted) < ($1.actual, $1.predicted) }
    }
}
