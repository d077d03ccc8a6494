extension Presets {
    /// Preset names, sorted.
    public static var names: [String] { all.keys.sorted() }

    /// Parses a preset by name. An unknown name is a usage error listing the presets.
    public static func workload(named name: String) throws(WorkloadError) -> Workload {
        guard let text = all[name] else {
            throw WorkloadError(
                file: "--preset",
                line: 0,
                column: 0,
                field: "",
                message:
                    "no preset named \"\(name)\"\(Spelling.suggestion(for: name, in: names)); presets: \(names.joined(separator: ", "))"
            )
        }
        return try WorkloadParser.parse(text, file: "preset:\(name)", defaultName: name)
    }
}
