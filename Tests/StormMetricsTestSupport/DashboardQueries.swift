import Foundation

/// Every PromQL expression of the committed Grafana dashboard (dashboards/zkstorm.json): panel targets,
/// and the metric inside each `label_values(metric, label)` variable query.
public enum DashboardQueries {
    public struct Query: Sendable {
        public var panel: String
        public var expression: String
        /// The target's datasource uid; nil for a variable's query.
        public var datasource: String?
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    public static let file = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("dashboards/zkstorm.json")

    /// The panels' ids, in file order.
    public static func panelIDs() throws -> [Int] {
        try panels().map { panel in
            guard let id = panel["id"] as? Int else {
                throw Malformed(description: "\(file.path): panel \(panel["title"] ?? "?") has no id")
            }
            return id
        }
    }

    public static func all() throws -> [Query] {
        var queries: [Query] = []
        for panel in try panels() {
            let title = panel["title"] as? String ?? "?"
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                guard let expression = target["expr"] as? String else {
                    throw Malformed(description: "\(file.path): a target of \(title) has no expr")
                }
                let datasource = (target["datasource"] as? [String: Any])?["uid"] as? String
                queries.append(Query(panel: title, expression: expression, datasource: datasource))
            }
        }
        let templating = try dashboard()["templating"] as? [String: Any]
        for variable in templating?["list"] as? [[String: Any]] ?? [] where variable["type"] as? String == "query" {
            guard let definition = variable["definition"] as? String else {
                throw Malformed(description: "\(file.path): variable \(variable["name"] ?? "?") has no definition")
            }
            // label_values(METRIC{a=~"x",b=~"y"}, LABEL): the selector ends at the last comma.
            let arguments = definition.dropFirst("label_values(".count)
            let inner = arguments.lastIndex(of: ",").map { arguments[..<$0] } ?? arguments
            queries.append(Query(panel: "variable \(variable["name"] ?? "")", expression: String(inner)))
        }
        return queries
    }

    static func dashboard() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] else {
            throw Malformed(description: "\(file.path) is not a JSON object")
        }
        return object
    }

    static func panels() throws -> [[String: Any]] {
        try dashboard()["panels"] as? [[String: Any]] ?? []
    }
}
