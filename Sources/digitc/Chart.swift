// SPDX-License-Identifier: MIT
import Foundation

/// A self-contained SVG chart of a training run: training (and test) loss
/// per epoch in the upper panel, test accuracy per epoch in the lower one.
struct TrainingChart {
    let title: String
    let records: [EpochRecord]

    private let width = 760.0
    private let height = 600.0
    private let left = 78.0, right = 28.0
    private let font = "font-family=\"Helvetica, Arial, sans-serif\""

    struct Series {
        let name: String
        let color: String
        let dashed: Bool
        let points: [(x: Double, y: Double)]
    }

    struct Axis {
        let lo: Double, hi: Double, step: Double
        var ticks: [Double] {
            let n = Int(((hi - lo) / step).rounded())
            return (0...max(0, n)).map { lo + Double($0) * step }
        }
        var decimals: Int { max(0, Int(-floor(log10(step) + 1e-9))) }
        func label(_ v: Double) -> String { String(format: "%.\(decimals)f", v) }
    }

    /// A "nice" tick step (1, 2 or 5 × 10^k) giving about `ticks` intervals.
    static func niceStep(_ range: Double, ticks: Int) -> Double {
        guard range > 0, range.isFinite else { return 1 }
        let raw = range / Double(ticks)
        let magnitude = pow(10, floor(log10(raw)))
        let f = raw / magnitude
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude
    }

    /// An axis covering lo…hi with nice ticks; widened when lo == hi.
    static func axis(_ lo: Double, _ hi: Double, ticks: Int = 5, minimumSpan: Double) -> Axis {
        var lo = lo, hi = hi
        if hi - lo < minimumSpan {
            let mid = (lo + hi) / 2
            lo = mid - minimumSpan / 2
            hi = mid + minimumSpan / 2
        }
        let step = niceStep(hi - lo, ticks: ticks)
        return Axis(lo: floor(lo / step + 1e-9) * step, hi: ceil(hi / step - 1e-9) * step, step: step)
    }

    func svg() -> String {
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))">
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(width / 2)" y="30" text-anchor="middle" \(font) font-size="17" font-weight="bold" fill="#222">\(escape(title))</text>

            """
        let epochs = records.map { Double($0.epoch) }
        guard let first = epochs.min(), let last = epochs.max() else {
            out += "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" \(font) font-size=\"14\" fill=\"#666\">no epochs recorded</text>\n</svg>\n"
            return out
        }
        let xStep = max(1, Self.niceStep(last - first + 1, ticks: 10).rounded())
        let xTicks = stride(from: (first / xStep).rounded(.up) * xStep, through: last, by: xStep).map { $0 }
        let xDomain = (first - 0.5, last + 0.5)

        // Upper panel: loss.
        let train = Series(name: "training loss", color: "#1f77b4", dashed: false,
                           points: records.map { (Double($0.epoch), $0.trainLoss) })
        let test = Series(name: "test loss", color: "#ff7f0e", dashed: true,
                          points: records.compactMap { r in r.testLoss.map { (Double(r.epoch), $0) } })
        let lossValues = (train.points + test.points).map(\.y).filter(\.isFinite)
        let lossAxis = Self.axis(0, (lossValues.max() ?? 1) * 1.05, minimumSpan: 0.01)
        out += panel(top: 62, height: 210, title: "Loss per epoch", yTitle: "loss",
                     axis: lossAxis, xDomain: xDomain, xTicks: xTicks,
                     series: test.points.isEmpty ? [train] : [train, test], valueFormat: { String(format: "%.4f", $0) })

        // Lower panel: test accuracy in percent.
        let accuracy = Series(name: "test accuracy", color: "#2ca02c", dashed: false,
                              points: records.compactMap { r in r.testAccuracy.map { (Double(r.epoch), $0 * 100) } })
        if accuracy.points.isEmpty {
            out += "<text x=\"\(width / 2)\" y=\"\(height - 140)\" text-anchor=\"middle\" \(font) font-size=\"14\" fill=\"#666\">no test set: no accuracy to show</text>\n"
        } else {
            let ys = accuracy.points.map(\.y)
            var axis = Self.axis(ys.min()!, ys.max()!, minimumSpan: 0.5)
            if axis.hi > 100 { axis = Axis(lo: axis.lo, hi: 100, step: axis.step) }
            out += panel(top: 344, height: 210, title: "Test accuracy per epoch", yTitle: "accuracy (%)",
                         axis: axis, xDomain: xDomain, xTicks: xTicks,
                         series: [accuracy], valueFormat: { String(format: "%.2f%%", $0) })
        }
        out += "</svg>\n"
        return out
    }

    private func panel(top: Double, height h: Double, title: String, yTitle: String, axis: Axis,
                       xDomain: (Double, Double), xTicks: [Double], series: [Series],
                       valueFormat: (Double) -> String) -> String {
        let plotWidth = width - left - right
        func px(_ x: Double) -> Double { left + (x - xDomain.0) / (xDomain.1 - xDomain.0) * plotWidth }
        func py(_ y: Double) -> Double { top + h - (y - axis.lo) / (axis.hi - axis.lo) * h }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = "<g>\n"
        s += "<text x=\"\(f(left))\" y=\"\(f(top - 10))\" \(font) font-size=\"14\" font-weight=\"bold\" fill=\"#333\">\(escape(title))</text>\n"
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(h))\" fill=\"#fafafa\" stroke=\"none\"/>\n"
        // Horizontal grid and y ticks.
        for t in axis.ticks {
            let y = py(t)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>\n"
            s += "<line x1=\"\(f(left - 5))\" y1=\"\(f(y))\" x2=\"\(f(left))\" y2=\"\(f(y))\" stroke=\"#444\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\" \(font) font-size=\"11\" fill=\"#444\">\(axis.label(t))</text>\n"
        }
        // X ticks.
        for t in xTicks {
            let x = px(t)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + h))\" stroke=\"#efefef\" stroke-width=\"1\"/>\n"
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top + h))\" x2=\"\(f(x))\" y2=\"\(f(top + h + 5))\" stroke=\"#444\"/>\n"
            s += "<text x=\"\(f(x))\" y=\"\(f(top + h + 18))\" text-anchor=\"middle\" \(font) font-size=\"11\" fill=\"#444\">\(Int(t))</text>\n"
        }
        // Axes and their titles.
        s += "<path d=\"M\(f(left)),\(f(top)) V\(f(top + h)) H\(f(left + plotWidth))\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.2\"/>\n"
        s += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + h + 36))\" text-anchor=\"middle\" \(font) font-size=\"12\" fill=\"#333\">epoch</text>\n"
        let yMid = top + h / 2
        s += "<text x=\"18\" y=\"\(f(yMid))\" transform=\"rotate(-90 18 \(f(yMid)))\" text-anchor=\"middle\" \(font) font-size=\"12\" fill=\"#333\">\(escape(yTitle))</text>\n"
        // Series.
        for line in series where !line.points.isEmpty {
            let d = line.points.enumerated().map { i, p in "\(i == 0 ? "M" : "L")\(f(px(p.x))),\(f(py(p.y)))" }.joined(separator: " ")
            s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2.2\" stroke-linejoin=\"round\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            if line.points.count <= 40 {
                for p in line.points {
                    s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.2\" fill=\"#fff\" stroke=\"\(line.color)\" stroke-width=\"1.8\"><title>\(escape(line.name)), epoch \(Int(p.x)): \(valueFormat(p.y))</title></circle>\n"
                }
            }
        }
        // The final values, next to the last points, kept at least 13 px apart.
        var labels: [(x: Double, y: Double, anchorEnd: Bool, color: String, text: String)] = []
        for line in series {
            guard let last = line.points.last else { continue }
            let anchorEnd = px(last.x) > left + plotWidth - 90
            labels.append((px(last.x) + (anchorEnd ? -8 : 8), py(last.y) - 8, anchorEnd, line.color, valueFormat(last.y)))
        }
        labels.sort { $0.y < $1.y }
        for i in labels.indices.dropFirst() where labels[i].y - labels[i - 1].y < 13 {
            labels[i].y = labels[i - 1].y + 13
        }
        for label in labels {
            s += "<text x=\"\(f(label.x))\" y=\"\(f(label.y))\" text-anchor=\"\(label.anchorEnd ? "end" : "start")\" \(font) font-size=\"11\" fill=\"\(label.color)\">\(escape(label.text))</text>\n"
        }
        // Legend, in the title row above the plot, right-aligned.
        if series.count > 1 {
            let itemWidths = series.map { 32 + Double($0.name.count) * 6.6 + 18 }
            var x = left + plotWidth - itemWidths.reduce(0, +) + 18
            let y = top - 10
            for (line, itemWidth) in zip(series, itemWidths) {
                s += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(line.color)\" stroke-width=\"2.2\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
                s += "<text x=\"\(f(x + 30))\" y=\"\(f(y))\" \(font) font-size=\"12\" fill=\"#333\">\(escape(line.name))</text>\n"
                x += itemWidth
            }
        }
        s += "</g>\n"
        return s
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
