extension PrometheusExposition {
    /// `zkstorm_connect_phase_seconds{phase}`: how long each phase of a connect took (TCP connect, TLS
    /// handshake, ConnectRequest to ConnectResponse, SASL, and the total), over every connect of the run.
    static func renderConnectPhases(_ snapshot: MetricsSnapshot, into out: inout ExpositionWriter) {
        out.family(
            "zkstorm_connect_phase_seconds",
            type: "histogram",
            help: "Connect time by phase (tcp, tls, handshake, sasl, total), first connects and reconnects."
        )
        for phase in snapshot.connectPhases.keys.sorted() {
            out.histogram("zkstorm_connect_phase_seconds", [("phase", phase)], snapshot.connectPhases[phase]!)
        }
    }
}
