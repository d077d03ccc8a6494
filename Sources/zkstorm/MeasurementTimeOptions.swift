import ArgumentParser
import StormEngine

/// The words `--duration` and `--warmup` are described with in one command's help and errors.
protocol MeasurementTimeWording {
    static var durationHelp: String { get }
    static var warmupHelp: String { get }
    /// Example durations in the error for a bad `--duration`, e.g. "30s, 500ms or 2m".
    static var durationExamples: String { get }
}

/// `--duration` and `--warmup`, declared and parsed once for `zkstorm run` and `zkstorm sweep`.
struct MeasurementTimeOptions<Wording: MeasurementTimeWording>: ParsableArguments {
    // `.unconditional`: a value such as -5s is taken as the value (and refused with a clear message),
    // not mistaken for an unknown flag.
    @Option(parsing: .unconditional, help: ArgumentHelp(Wording.durationHelp))
    var duration: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(Wording.warmupHelp))
    var warmup: String?

    /// Sets the overrides' duration and warm-up from the flags given; the message names the flag.
    func apply(to overrides: inout WorkloadOverrides, failure: (String) -> ExitCode) throws(ExitCode) {
        if let duration {
            guard let value = DurationText.parse(duration), value >= .milliseconds(100) else {
                throw failure(
                    "--duration \(duration): expected a duration of at least 100ms such as \(Wording.durationExamples)"
                )
            }
            overrides.duration = value
        }
        if let warmup {
            guard let value = DurationText.parse(warmup) else {
                throw failure("--warmup \(warmup): expected a duration such as 2s or 500ms (0s for none)")
            }
            overrides.warmup = value
        }
    }
}

enum RunTimeWording: MeasurementTimeWording {
    static let durationHelp = "Measurement length, e.g. 30s, 2m (overrides the file)."
    static let warmupHelp = "Warm-up before measuring, e.g. 2s (overrides the file)."
    static let durationExamples = "30s, 500ms or 2m"
}

enum SweepTimeWording: MeasurementTimeWording {
    static let durationHelp = "Measurement length of each point, e.g. 10s (overrides the file)."
    static let warmupHelp = "Warm-up before each point's measurement, e.g. 2s (overrides the file)."
    static let durationExamples = "10s or 500ms"
}
