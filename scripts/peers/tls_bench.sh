#!/usr/bin/env bash
# What security costs zkstorm's client against real ZooKeeper 3.8 (one server, Netty factory, PEM stores,
# ssl.clientAuth=need, SASL DIGEST-MD5) and against the built-in server (`zkstorm serve` with the same
# certificates, --client-auth need and user): getData throughput and p50 at 64 in flight over plaintext,
# TLS and TLS+SASL (interleaved rounds, medians), and connect time by phase for 1,000 sessions.
#
#   scripts/peers/tls_bench.sh [--rounds N] [--quick] [--bin PATH]
#
# Prints a Markdown section for BENCHMARKS.md on stdout. scripts/bench may call it; it needs only
# openssl, Java and Debian's zookeeper package (scripts/install-deps) and a built zkstorm (--bin, default
# .build/release/zkstorm, built here when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/peers/lib.sh
bench_options tls_bench "$@"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/zkstorm-tls-bench.XXXXXX)
java_pid=
serve_pid=
cleanup() {
  [[ -n $java_pid ]] && kill "$java_pid" 2>/dev/null || true
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A throwaway PKI: CA, server certificate for 127.0.0.1, client certificate.
ossl() { openssl "$@" >/dev/null 2>&1; }
cd "$work"
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca.key
ossl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=zkstorm bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
for n in server client; do
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $n.key
  ossl req -new -key $n.key -subj "/CN=$n/O=zkstorm" -out $n.csr
done
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
for n in server client; do
  ossl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 -extfile $n.ext -out $n.pem
done
cat server.pem server.key >server-keystore.pem
printf 'secret' >bob.password
cd - >/dev/null

port=$(free_port)
secure_port=$(free_port)
mkdir -p "$work/data"
cat >"$work/zoo.cfg" <<EOF
tickTime=2000
dataDir=$work/data
clientPort=$port
clientPortAddress=127.0.0.1
secureClientPort=$secure_port
secureClientPortAddress=127.0.0.1
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
ssl.keyStore.location=$work/server-keystore.pem
ssl.keyStore.type=PEM
ssl.trustStore.location=$work/ca.pem
ssl.trustStore.type=PEM
ssl.clientAuth=need
authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
EOF
cat >"$work/jaas.conf" <<EOF
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_bob="secret";
};
EOF
j=/usr/share/java
cp=$j/zookeeper.jar:$j/zookeeper-jute.jar:$j/slf4j-api.jar:$j/slf4j-simple.jar:$j/netty-all.jar:$j/metrics-core.jar
for n in buffer codec common handler resolver transport transport-native-epoll transport-native-unix-common; do
  cp=$cp:$j/netty-$n.jar
done
java -Xmx1g -XX:+UseParallelGC -Djava.security.auth.login.config="$work/jaas.conf" -Dzookeeper.4lw.commands.whitelist='*' \
  -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$work/zoo.cfg" >"$work/zookeeper.log" 2>&1 &
java_pid=$!
for _ in $(seq 200); do
  [[ $(python3 -c "import socket;s=socket.create_connection(('127.0.0.1',$port));s.send(b'ruok');print(s.recv(4).decode())" 2>/dev/null) == imok ]] && break
  sleep 0.1
done

tls=(--tls-ca "$work/ca.pem" --tls-cert "$work/client.pem" --tls-key "$work/client.key")
sasl=(--sasl-user bob --sasl-password-file "$work/bob.password")

# 1,000 sessions, each connecting once (plus the control session): connect time by phase.
cat >"$work/connect1000.yaml" <<EOF
name: tls-connect-1000
sessions: 1000
duration: 1s
warmup: 0s
keyspace: {count: 10, value_size: 10}
groups:
  - ops: {get: 1}
    load: {model: closed, concurrency: 1, window: 1}
EOF

# The built-in server with the same certificates and user.
printf 'bob=secret\n' >"$work/sasl-users"
builtin_port=$(free_port)
builtin_secure_port=$(free_port)
"$bin" serve --port "$builtin_port" --secure-port "$builtin_secure_port" --tls-cert "$work/server.pem" \
  --tls-key "$work/server.key" --tls-ca "$work/ca.pem" --client-auth need --sasl-users "$work/sasl-users" \
  >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 200); do
  [[ $(python3 -c "import socket;s=socket.create_connection(('127.0.0.1',$builtin_port));s.send(b'ruok');print(s.recv(4).decode())" 2>/dev/null) == imok ]] && break
  sleep 0.1
done

servers="real built-in"
# target_args SERVER MODE: the --target and security flags of one server and transport (the work
# directory's paths have no spaces: mktemp under /tmp).
target_args() {
  local plain_port=$port tls_port=$secure_port
  if [[ $1 == built-in ]]; then plain_port=$builtin_port tls_port=$builtin_secure_port; fi
  case $2 in
    plain) echo "--target 127.0.0.1:$plain_port" ;;
    tls) echo "--target 127.0.0.1:$tls_port ${tls[*]}" ;;
    tls+sasl) echo "--target 127.0.0.1:$tls_port ${tls[*]} ${sasl[*]}" ;;
  esac
}
declare -A ops p50 cpu
if ((quick)); then count=20000; else count=100000; fi
# getData on one znode, one session, 64 in flight: the same measurement as scripts/bench's client rows,
# with the client process's CPU time (user + system) per request.
run_get() { # server mode [record]
  local key="$1 $2" line t
  TIMEFORMAT='%U %S'
  # shellcheck disable=SC2046
  t=$( { time "$bin" bench client --op get --inflight 64 --count "$count" $(target_args "$1" "$2") >"$work/get.json"; } 2>&1 )
  line=$(tail -n 1 "$work/get.json")
  [[ ${3:-record} == record ]] || return 0
  ops[$key]+="$(python3 -c "import json,sys;print(json.loads(sys.argv[1])['ops_per_sec'])" "$line") "
  p50[$key]+="$(python3 -c "import json,sys;print(json.loads(sys.argv[1])['p50_us'])" "$line") "
  cpu[$key]+="$(python3 -c "import sys;u,s=map(float,sys.argv[1].split());print((u+s)*1e6/(int(sys.argv[2])*1.1))" "$t" "$count") "
}
# One untimed pass first: the JVM compiles its TLS and request paths, both servers' caches warm.
for server in $servers; do
  for mode in plain tls tls+sasl; do run_get "$server" "$mode" warm-up; done
done
for round in $(seq "$rounds"); do
  for server in $servers; do
    for mode in plain tls tls+sasl; do run_get "$server" "$mode"; done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "## 10. TLS and SASL cost: zkstorm client → real ZooKeeper 3.8 (Netty, clientAuth=need) and the built-in server"
echo
echo "getData of one 100-byte znode, 1 session, 64 in flight (zkstorm bench client), $count requests per run"
echo "(+10% warm-up), after one untimed pass of each; median of $rounds interleaved rounds. Client CPU is the"
echo "zkstorm process's user + system time per request, warm-up included: what security costs our client alone."
echo
echo "| server | transport | getData/s | p50 | throughput vs plaintext | client CPU µs/op | client CPU vs plaintext | each round (getData/s) |"
echo "|---|---|---|---|---|---|---|---|"
for server in $servers; do
  base=$(echo "${ops[$server plain]}" | median)
  cbase=$(echo "${cpu[$server plain]}" | median)
  for mode in plain tls tls+sasl; do
    o=$(echo "${ops[$server $mode]}" | median)
    p=$(echo "${p50[$server $mode]}" | median)
    c=$(echo "${cpu[$server $mode]}" | median)
    printf '| %s | %s | %.0f | %s µs | %.2f | %.2f | %.2f | %s|\n' "$server" "$mode" "$o" "$p" \
      "$(python3 -c "print($o/$base)")" "$c" "$(python3 -c "print($c/$cbase)")" "$(printf '%.0f ' ${ops[$server $mode]})"
  done
done
echo
echo "Connect time by phase, 1,000 sessions (+1 control session) opened 32 at a time:"
echo
echo "| server | transport | phase | p50 | p90 | p99 | max |"
echo "|---|---|---|---|---|---|---|"
for server in $servers; do
  for mode in plain tls+sasl; do
    out="$work/connect-$server-$mode.json"
    # shellcheck disable=SC2046
    "$bin" run "$work/connect1000.yaml" --quiet --json "$out" $(target_args "$server" "$mode") >/dev/null
    python3 - "$out" "$server" "$mode" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for phase in ["tcp", "tls", "handshake", "sasl", "total"]:
    p = r.get("connect_phases_us", {}).get(phase)
    if p:
        print(f"| {sys.argv[2]} | {sys.argv[3]} | {phase} | {p['p50']} µs | {p['p90']} µs | {p['p99']} µs | {p['max']} µs |")
EOF
  done
done
