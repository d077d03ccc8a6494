import Foundation

/// A minimal SVG chart writer (lines or bars, linear or log axes) for the self-contained HTML report.
/// No scripts and no external files: the report opens anywhere, including from an e-mail attachment.
struct SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        /// Drawn dashed (the second run of a comparison).
        var dashed = false
        /// A dot on every point, its value in a tooltip: for curves whose points are separate runs
        /// (a sweep), where the line between two points is no measurement.
        var showsPoints = false
    }

    enum Scale {
        case linear
        case log
    }

    enum Style {
        case lines
        case bars
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var xScale: Scale = .linear
    var yScale: Scale = .linear
    var style: Style = .lines
    var series: [Series]
    /// Tick labels for x; nil = numbers.
    var xTickLabel: ((Double) -> String)?
    var yTickLabel: ((Double) -> String)?
    /// Vertical lines at x positions (faults, stage changes), labelled at the top of the plot.
    var markers: [Marker] = []
    var width = 1000.0
    var height = 320.0

    struct Marker {
        var x: Double
        var label: String
        var color = "#888888"
    }

    static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
    ]

    var hasData: Bool { series.contains { !$0.points.isEmpty } }

    func render() -> String {
        let left = 70.0
        let right = 40.0
        let top = 34.0
        let bottom = 48.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let all = series.flatMap(\.points)
        var (xMin, xMax) = range(all.map(\.x), scale: xScale)
        var (yMin, yMax) = range(all.map(\.y), scale: yScale)
        if style == .bars, yScale == .linear { yMin = 0 }
        // Headroom so the highest value does not sit on the frame.
        if yScale == .linear, yMax > 0 { yMax *= 1.08 }
        if xMin == xMax { (xMin, xMax) = widen(xMin, scale: xScale) }
        if yMin == yMax { (yMin, yMax) = widen(yMin, scale: yScale) }
        func project(_ value: Double, _ lo: Double, _ hi: Double, _ scale: Scale) -> Double {
            switch scale {
            case .linear: return (value - lo) / (hi - lo)
            case .log: return (log10(max(value, lo)) - log10(lo)) / (log10(hi) - log10(lo))
            }
        }
        func px(_ x: Double) -> Double { left + project(x, xMin, xMax, xScale) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - project(y, yMin, yMax, yScale) * plotHeight }

        var svg =
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        svg += "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTMLReport.escape(title))\">\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
        svg +=
            "<text x=\"\(Int(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(HTMLReport.escape(title))</text>\n"
        // Grid and ticks.
        for tick in ticks(xMin, xMax, xScale) {
            let x = px(tick)
            svg += line(x, top, x, top + plotHeight, "#e5e5e5")
            let label = xTickLabel?(tick) ?? Self.number(tick)
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\" font-size=\"11\">\(HTMLReport.escape(label))</text>\n"
        }
        for tick in ticks(yMin, yMax, yScale) {
            let y = py(tick)
            svg += line(left, y, left + plotWidth, y, "#e5e5e5")
            let label = yTickLabel?(tick) ?? Self.number(tick)
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" font-size=\"11\">\(HTMLReport.escape(label))</text>\n"
        }
        svg +=
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg +=
            "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" font-size=\"12\">\(HTMLReport.escape(xLabel))</text>\n"
        svg += "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" font-size=\"12\" "
        svg += "transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\">\(HTMLReport.escape(yLabel))</text>\n"
        // Data.
        for (index, s) in series.enumerated() where !s.points.isEmpty {
            let color = Self.palette[index % Self.palette.count]
            switch style {
            case .lines:
                var d = ""
                for (i, p) in s.points.enumerated() {
                    d += (i == 0 ? "M" : " L") + "\(f(px(p.x))),\(f(py(p.y)))"
                }
                if s.showsPoints {
                    for p in s.points {
                        svg +=
                            "<circle class=\"point\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.5\" fill=\"\(color)\"><title>\(HTMLReport.escape(s.name)): \(Self.number(p.x)) → \(Self.number(p.y))</title></circle>\n"
                    }
                } else if s.points.count == 1 {
                    let p = s.points[0]
                    svg +=
                        "<circle class=\"series\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"4\" fill=\"\(color)\"/>\n"
                }
                svg +=
                    "<path class=\"series\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")><title>\(HTMLReport.escape(s.name))</title></path>\n"
            case .bars:
                let barWidth = max(2, plotWidth / Double(max(s.points.count, 1)) * 0.8)
                for p in s.points {
                    let y = py(p.y)
                    let base = py(yScale == .log ? yMin : 0)
                    svg +=
                        "<rect class=\"series\" x=\"\(f(px(p.x) - barWidth / 2))\" y=\"\(f(min(y, base)))\" width=\"\(f(barWidth))\" "
                    svg +=
                        "height=\"\(f(max(1, abs(base - y))))\" fill=\"\(color)\"><title>\(HTMLReport.escape(s.name)): \(Self.number(p.y))</title></rect>\n"
                }
            }
        }
        for marker in markers where marker.x >= xMin && marker.x <= xMax {
            let x = px(marker.x)
            svg +=
                "<line class=\"marker\" x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"\(marker.color)\" stroke-dasharray=\"4 3\"/>"
            svg +=
                "<text x=\"\(f(x + 3))\" y=\"\(f(top + plotHeight - 6))\" font-size=\"10\" fill=\"\(marker.color)\">\(HTMLReport.escape(marker.label))</text>\n"
        }
        // Legend.
        var legendX = left + 8
        for (index, s) in series.enumerated() where !s.points.isEmpty {
            let color = Self.palette[index % Self.palette.count]
            svg += "<rect x=\"\(f(legendX))\" y=\"\(f(top + 6))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg +=
                "<text x=\"\(f(legendX + 14))\" y=\"\(f(top + 15))\" font-size=\"11\">\(HTMLReport.escape(s.name))</text>\n"
            legendX += 24 + Double(s.name.count) * 6.5
        }
        svg += "</svg>\n"
        return svg
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String) -> String {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(color)\"/>\n"
    }

    private func range(_ values: [Double], scale: Scale) -> (Double, Double) {
        let usable = scale == .log ? values.filter { $0 > 0 } : values
        guard let lo = usable.min(), let hi = usable.max() else { return scale == .log ? (1, 10) : (0, 1) }
        switch scale {
        case .log: return (pow(10, floor(log10(lo))), pow(10, ceil(log10(hi))))
        case .linear: return (min(lo, 0), hi)
        }
    }

    private func widen(_ value: Double, scale: Scale) -> (Double, Double) {
        switch scale {
        case .log: return (value, value * 10)
        case .linear: return value == 0 ? (0, 1) : (min(0, value), abs(value) * 1.1)
        }
    }

    private func ticks(_ lo: Double, _ hi: Double, _ scale: Scale) -> [Double] {
        switch scale {
        case .log:
            var result: [Double] = []
            var t = lo
            while t <= hi * 1.000_001 && result.count < 20 {
                result.append(t)
                t *= 10
            }
            return result
        case .linear:
            let span = hi - lo
            let raw = span / 5
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
            var result: [Double] = []
            var t = ceil(lo / step) * step
            while t <= hi + step * 1e-9 && result.count < 12 {
                result.append(t)
                t += step
            }
            return result
        }
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return "\(Int64(value))" }
        return String(format: "%.3g", value)
    }
}
