// SPDX-License-Identifier: MIT
import ArgumentParser
import Digit
import DigitJSON
import Foundation

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model: architecture, layers, parameters, how it was trained.",
        discussion: """
            Examples:
              digitc info
              digitc info --model model.safetensors
              digitc info --arch compact      # an untrained preset, no file needed
              digitc info --json              # one JSON object (README: "JSON records")
            """)

    @Option(help: ArgumentHelp("Model file (default: $DIGIT_MODEL, else the shipped \(Locations.defaultModelName)).", valueName: "file"))
    var model: String?

    @Option(help: ArgumentHelp("Describe this untrained architecture instead of a model file: \(Preset.allCases.map(\.rawValue).joined(separator: " or ")).", valueName: "name"))
    var arch: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if let arch, Preset(rawValue: arch) == nil {
            throw ValidationError("unknown architecture '\(arch)' for --arch (known: \(Preset.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if arch != nil && model != nil { throw ValidationError("give --model or --arch, not both") }
    }

    func run() throws {
        let model: Model
        var source: String
        var file: String?
        if let arch {
            model = try Model(preset: Preset(rawValue: arch)!)
            source = "untrained \(arch) preset"
        } else {
            let url = try Locations.model(self.model)
            model = try Model(contentsOf: url)
            source = Format.path(url)
            file = source
            if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int {
                source += String(format: " (%.1f MB)", Double(size) / 1_000_000)
            }
        }
        if json {
            Console.out(try RecordEncoding.line(ModelInfoRecord(model: model, file: file)))
            return
        }
        Console.out("model          \(source)")
        Console.out("architecture   \(model.preset.rawValue)")
        let n = model.normalization
        Console.out("input          1x28x28 gray, normalised as (x/255 - \(String(format: "%g", n.mean))) / \(String(format: "%g", n.std))")
        Console.out("parameters     \(Format.grouped(model.parameterCount))")
        Console.out()

        let rows = model.layers.map { [$0.name, $0.summary, $0.outputShape.description, Format.grouped($0.parameterCount)] }
        let header = ["layer", "type", "output", "params"]
        let widths = (0..<4).map { c in ([header] + rows).map { $0[c].count }.max()! }
        func line(_ cells: [String]) -> String {
            (0..<3).map { Format.pad(cells[$0], widths[$0] + 2) }.joined() + Format.pad(cells[3], widths[3], right: true)
        }
        Console.out(line(header))
        Console.out(String(repeating: "-", count: widths.reduce(6, +)))
        rows.forEach { Console.out(line($0)) }
        Console.out(line(["total", "", "", Format.grouped(model.parameterCount)]))
        Console.out()

        let entries = model.metadataEntries
        if entries.isEmpty {
            Console.out("metadata       none (not trained by digitc)")
        } else {
            Console.out("metadata")
            let keyWidth = max(14, entries.map(\.key.count).max()! + 2)
            for (key, value) in entries {
                var shown = value
                if key == "test_accuracy", let x = Double(value) { shown += " (\(Format.percent(x)))" }
                Console.out("  " + Format.pad(key, keyWidth) + shown)
            }
        }
    }
}
