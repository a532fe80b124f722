import CDigit

/// The version of the libdigit C library in use, e.g. `"1.0.0"`.
///
/// Reached from client code as `Digit.version`.
public let version: String = String(cString: digit_version())

/// The ABI version of the libdigit C library in use (`DIGIT_ABI_VERSION`).
public let abiVersion: Int = Int(digit_abi_version())

/// The side of the square images the models read: 28 pixels.
public let imageSide = Int(DIGIT_IMAGE_SIDE)

/// Pixels per image: 28 × 28 = 784.
public let imagePixelCount = Int(DIGIT_IMAGE_PIXELS)

/// Number of classes, the digits 0 to 9.
public let classCount = Int(DIGIT_CLASSES)
