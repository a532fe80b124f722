// SPDX-License-Identifier: MIT
import Digit
import Foundation
import Testing

/// `digitc classify` inputs (directories, standard input), --show-input
/// names, --min-confidence, and the JSON records of classify, evaluate and
/// info (the schema in the README's "JSON records").
@Suite("digitc inputs and JSON")
struct CLIInputTests {
    @Test func directoriesRecurseInSortedOrderAndSkipStrayFiles() throws {
        let f = try CLIFixture()
        try f.writeDigitPNG("scans/b/2.png", digit: 2)
        try f.writeDigitPNG("scans/a/sub/0.png", digit: 0)
        try f.writeDigitPNG("scans/a/1.png", digit: 1)
        try f.writeDigitPNG("scans/a/no-extension", digit: 4)  // chosen by content, not by name
        try Data("Bud1 not an image".utf8).write(to: f.dir.file("scans/.DS_Store"))
        try Data("notes".utf8).write(to: f.dir.file("scans/a/notes.png"))  // named like one, is not one
        try FileManager.default.createDirectory(at: f.dir.file("empty"), withIntermediateDirectories: true)

        let r = try f.run("classify", "--model", f.model, "scans/")
        #expect(r.status == 0, "\(r.stderr)")
        let names = r.stdout.split(separator: "\n").map { String($0.prefix { $0 != ":" }) }
        #expect(names == ["scans/a/1.png", "scans/a/no-extension", "scans/a/sub/0.png", "scans/b/2.png"])
        #expect(r.stderr.contains("skipping scans/.DS_Store: not a PNG or JPEG image"))
        #expect(r.stderr.contains("skipping scans/a/notes.png"))
        #expect(!r.stderr.contains("error"))

        let empty = try f.run("classify", "--model", f.model, "empty", "scans/b")
        #expect(empty.status == 2)
        #expect(empty.stdout.hasPrefix("scans/b/2.png: "))
        #expect(empty.stderr.contains("digitc: error: empty: no PNG or JPEG images"))
    }

    @Test func standardInput() throws {
        let f = try CLIFixture()
        try f.writeDigitPNG("d.png", digit: 5)
        let png = try Data(contentsOf: f.dir.file("d.png"))
        let r = try f.run("classify", "--model", f.model, "-", "d.png", input: png)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("<stdin>: ") && lines[1].hasPrefix("d.png: "))
        #expect(lines[0].dropFirst("<stdin>".count) == lines[1].dropFirst("d.png".count))

        let empty = try f.run("classify", "--model", f.model, "-", input: Data())
        #expect(empty.status == 2)
        #expect(empty.stderr.hasPrefix("digitc: error: <stdin>: empty input"))

        let garbage = try f.run("classify", "--model", f.model, "-", input: Data("hello".utf8))
        #expect(garbage.status == 2)
        #expect(garbage.stderr.contains("<stdin>") && !garbage.stderr.contains("<memory>"))
    }

    @Test func showInputNamesStayApart() throws {
        let f = try CLIFixture()
        for name in ["a/x.png", "b/x.png", "x.png"] { try f.writeDigitPNG(name, digit: 3) }
        let r = try f.run("classify", "--model", f.model, "--show-input", "inputs", "a/x.png", "b/x.png", "x.png", "./a/x.png")
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["inputs/a/x.input.png", "inputs/b/x.input.png", "inputs/x.input.png", "inputs/a/x-2.input.png"] {
            #expect(f.exists(name), "missing \(name)")
        }
        let dir = try f.run("classify", "--model", f.model, "--show-input", "seen/", "a")
        #expect(dir.status == 0 && f.exists("seen/a/x.input.png"))
        let stdin = try f.run("classify", "--model", f.model, "--show-input", "piped/", "-",
                              input: try Data(contentsOf: f.dir.file("x.png")))
        #expect(stdin.status == 0 && f.exists("piped/stdin.input.png"))
    }

    @Test func minConfidenceAnswersUnsure() throws {
        let f = try CLIFixture()  // an untrained model: no answer is confident
        try f.writeDigitPNG("d.png", digit: 8)
        let text = try f.run("classify", "--model", f.model, "--min-confidence", "0.99", "d.png")
        #expect(text.status == 0, "\(text.stderr)")
        let line = text.stdout.trimmingCharacters(in: .newlines)
        #expect(line.wholeMatch(of: /d\.png: unsure \(best \d, \d+\.\d%\)/) != nil, "\(line)")

        let json = try CLIFixture.jsonLines(try f.run("classify", "--model", f.model, "--json", "--min-confidence", "0.99", "d.png"))
        #expect(json.first?["unsure"] as? Bool == true)
        let sure = try CLIFixture.jsonLines(try f.run("classify", "--model", f.model, "--json", "--min-confidence", "0", "d.png"))
        #expect(sure.first?["unsure"] as? Bool == false)
    }

    @Test func classifyJSONHasTheDocumentedFields() throws {
        let f = try CLIFixture()
        try f.writeDigitPNG("d.png", digit: 6)
        let records = try CLIFixture.jsonLines(try f.run("classify", "--model", f.model, "--json", "d.png"))
        let r = try #require(records.first)
        #expect(Set(r.keys) == ["file", "digit", "confidence", "unsure", "probabilities", "top", "warnings", "input"])
        #expect(r["file"] as? String == "d.png")
        let probabilities = try #require(r["probabilities"] as? [Double])
        #expect(probabilities.count == 10)
        let top = try #require(r["top"] as? [[String: Any]])
        #expect(top.count == 3 && top[0]["digit"] as? Int == r["digit"] as? Int)
        #expect(r["warnings"] as? [String] == [])
        let input = try #require(r["input"] as? [[Int]])
        #expect(input.count == 28 && input.allSatisfy { $0.count == 28 && $0.allSatisfy { (0...255).contains($0) } })
        // Ink bright: the corners of a centred digit are background, 0.
        #expect(input[0][0] == 0 && input[27][27] == 0 && input.joined().max() == 255)
    }

    @Test func jsonKeepsGoingPastFailedInputs() throws {
        let f = try CLIFixture()
        try f.writeDigitPNG("good.png", digit: 3)
        try Data("not an image".utf8).write(to: f.dir.file("text.png"))
        let r = try f.run("classify", "--model", f.model, "--json", "text.png", "good.png", "missing.png")
        #expect(r.status == 2)
        let records = try CLIFixture.jsonLines(r)
        #expect(records.map { $0["file"] as? String } == ["text.png", "good.png", "missing.png"])
        let errors = [records[0], records[2]].compactMap { $0["error"] as? [String: Any] }
        #expect(errors.map { $0["kind"] as? String } == ["format", "io"])
        #expect((errors[0]["message"] as? String)?.contains("text.png") == true)
        #expect(records[1]["error"] == nil && records[1]["digit"] is Int)
        #expect(r.stderr.split(separator: "\n").count == 2)  // the errors, for people, too
    }

    @Test func evaluateAndInfoJSON() throws {
        let f = try CLIFixture(test: 40)
        let evaluate = try f.run("evaluate", "--json", "--model", f.model, "--data", f.data, "--errors", "e.png")
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let e = try #require(try CLIFixture.jsonLines(evaluate).first)
        #expect(Set(e.keys) == ["model", "architecture", "data", "images", "correct", "accuracy", "loss", "confusion", "classes"])
        #expect(e["images"] as? Int == 40 && e["architecture"] as? String == "compact")
        let confusion = try #require(e["confusion"] as? [[Int]])
        #expect(confusion.count == 10 && confusion.joined().reduce(0, +) == 40)
        let classes = try #require(e["classes"] as? [[String: Any]])
        #expect(classes.count == 10 && classes.allSatisfy { Set($0.keys) == ["digit", "images", "predicted", "precision", "recall"] })
        #expect(evaluate.stderr.contains("wrote e.png") && f.exists("e.png"))

        let info = try f.run("info", "--json", "--model", f.model)
        #expect(info.status == 0, "\(info.stderr)")
        let i = try #require(try CLIFixture.jsonLines(info).first)
        #expect(Set(i.keys) == ["file", "architecture", "parameters", "normalization", "layers", "metadata", "libdigit"])
        #expect(i["parameters"] as? Int == 31_898 && i["libdigit"] as? String == Digit.version)
        let layers = try #require(i["layers"] as? [[String: Any]])
        #expect(layers.first?["name"] as? String == "conv1")
        #expect(layers.allSatisfy { Set($0.keys) == ["name", "type", "output", "parameters"] })

        let preset = try CLIFixture.jsonLines(try f.run("info", "--json", "--arch", "basic"))
        #expect(preset.first?["parameters"] as? Int == 421_642 && preset.first?["file"] == nil)
    }
}
