// SPDX-License-Identifier: MIT
import Digit

// The only file of DigitJSON that reads the Digit module's types, so that
// an API change there is adapted here once for both executables.

extension ClassificationRecord {
    /// The record for one prediction of `image`.
    public init(file: String? = nil, prediction: Prediction, image: Image, top k: Int,
                minConfidence: Float? = nil, warnings: [String] = []) {
        self.init(file: file, probabilities: prediction.probabilities, pixels: image.pixels, top: k,
                  minConfidence: minConfidence, warnings: warnings)
    }
}

extension ErrorRecord {
    /// The record for a failure; libdigit's errors keep their kind.
    public init(file: String? = nil, error: any Error, status: Int? = nil) {
        if let record = error as? ErrorRecord {
            self = record
            self.file = file ?? record.file
            if let status { self.error.status = status }
            return
        }
        guard let error = error as? DigitError else {
            self.init(file: file, kind: .internal, message: "\(error)", status: status)
            return
        }
        self.init(file: file, kind: ErrorKind(error.code), message: error.description, status: status)
    }
}

extension ErrorKind {
    init(_ code: DigitError.Code) {
        switch code {
        case .io: self = .io
        case .format: self = .format
        case .image: self = .image
        case .argument: self = .argument
        case .memory: self = .memory
        default: self = .internal
        }
    }
}

extension ModelInfoRecord {
    /// Describes `model`; `file` is the path to show, nil for a preset.
    public init(model: Model, file: String?) {
        let n = model.normalization
        self.init(
            file: file,
            architecture: model.preset.rawValue,
            parameters: model.parameterCount,
            normalization: Normalization(mean: n.mean, std: n.std),
            layers: model.layers.map {
                Layer(name: $0.name, type: $0.summary,
                      output: [$0.outputShape.channels, $0.outputShape.height, $0.outputShape.width],
                      parameters: $0.parameterCount)
            },
            metadata: OrderedStrings(model.metadataEntries),
            libdigit: Digit.version)
    }
}

extension EvaluationRecord {
    /// The record of `evaluation` of the model at `model` on the data in `data`.
    public init(_ evaluation: Evaluation, model: String, architecture: String, data: String) {
        let precision = evaluation.precision, recall = evaluation.recall
        let support = evaluation.support, predicted = evaluation.predictedCounts
        self.init(
            model: model, architecture: architecture, data: data,
            images: evaluation.count, correct: evaluation.correct,
            accuracy: evaluation.accuracy, loss: evaluation.loss,
            confusion: evaluation.confusion,
            classes: (0..<10).map {
                Class(digit: $0, images: support[$0], predicted: predicted[$0],
                      precision: precision[$0], recall: recall[$0])
            })
    }
}
