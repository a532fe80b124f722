// SPDX-License-Identifier: MIT
import CDigit

/// The version of the libdigit C library in use, e.g. `"2.0.0"`: the one
/// written in digit.h's `DIGIT_VERSION_*` macros.
///
/// Reached from client code as `Digit.version`.
public let version: String = String(cString: digit_version())

/// The version as one comparable number, `major × 10000 + minor × 100 +
/// patch` (20000 for 2.0.0).
public let versionNumber: Int = Int(digit_version_number())

/// The side of the square images the models read: 28 pixels.
public let imageSide = Int(DIGIT_IMAGE_SIDE)

/// Pixels per image: 28 × 28 = 784.
public let imagePixelCount = Int(DIGIT_IMAGE_PIXELS)

/// Number of classes, the digits 0 to 9.
public let classCount = Int(DIGIT_CLASSES)

/// The file name of the model libdigit ships (`digit-strong.safetensors`):
/// where front ends look for the default model, spelled once in digit.h.
public let defaultModelFileName: String = String(cString: digit_default_model_file())

/// The threads that inference and evaluation split a batch between, for
/// the whole process. Setting 0 (the default) uses one per core; reading
/// gives the effective count. Training takes its count from
/// ``TrainingOptions/threads`` instead.
public var inferenceThreads: Int {
    get { Int(digit_threads()) }
    set { digit_set_threads(Int32(clamping: newValue)) }
}
