# Shared by the peer benchmarks (scripts/peers/*_bench.sh): sourced from the repository root, not run.

# bench_options NAME ARGS...: sets `rounds` (default 3), `quick` (0 or 1) and `bin` (default
# .build/release/zkstorm) from --rounds N, --quick and --bin PATH; anything else is a usage error naming
# NAME (exit 64). Builds the release zkstorm when `bin` is not an executable.
bench_options() {
  local name=$1
  shift
  rounds=3
  quick=0
  bin=.build/release/zkstorm
  while (($#)); do
    case $1 in
      --rounds)
        if (($# < 2)) || [[ ! $2 =~ ^[1-9][0-9]*$ ]]; then
          echo "$name: --rounds takes a whole number of at least 1" >&2
          exit 64
        fi
        rounds=$2; shift 2 ;;
      --quick) quick=1; shift ;;
      --bin)
        if (($# < 2)); then echo "$name: --bin takes the path of a zkstorm binary" >&2; exit 64; fi
        bin=$2; shift 2 ;;
      *) echo "$name: unknown option $1 (--rounds N, --quick, --bin PATH)" >&2; exit 64 ;;
    esac
  done
  [[ -x $bin ]] || swift build -c release --product zkstorm
}
