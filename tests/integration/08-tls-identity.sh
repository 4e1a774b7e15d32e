#!/usr/bin/env bash
# 08: TLS with client certificates and the shipped ACL (cloud/mosquitto).
# A CA and certificates are made with openssl here; the device's request
# comes from tpkey csr. Checks: the device and the collector talk over TLS
# and a claim opens; a client without a certificate is refused; a device's
# certificate cannot publish under another id (nothing stored) but can under
# its own; a device cannot read another device's commands.
. "$(dirname "$0")/../lib/check.sh"
check_stack
pki="$CHECK_DIR/pki"
mkdir -p "$pki"
ossl() { openssl "$@" > /dev/null 2>&1; }
ossl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key"
ossl req -x509 -new -key "$pki/ca.key" -subj "/CN=tpdiag test CA" -days 2 -out "$pki/ca.pem"
sign() {  # sign NAME (a CSR in $pki/NAME.csr) -> $pki/NAME.pem
	ossl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 2 -out "$pki/$1.pem" ${2:+-extfile "$2"}
}
# broker: CN and SAN 127.0.0.1
ossl ecparam -name prime256v1 -genkey -noout -out "$pki/broker.key"
ossl req -new -key "$pki/broker.key" -subj "/CN=127.0.0.1" -out "$pki/broker.csr"
printf 'subjectAltName=IP:127.0.0.1\n' > "$pki/san.ext"
sign broker "$pki/san.ext"
# collector: CN tpcollect
ossl ecparam -name prime256v1 -genkey -noout -out "$pki/tpcollect.key"
ossl req -new -key "$pki/tpcollect.key" -subj "/CN=tpcollect" -out "$pki/tpcollect.csr"
sign tpcollect
# devices: keys and registry rows from tpkey, requests from tpkey csr
for id in TPS0001 TPS0002; do
	stack_register "$id" archer-ax55 2025-06-01
	"$STACK_BIN/tpkey" csr "$id" --key "$CHECK_DIR/keys/$id.key" > "$pki/$id.csr"
	sign "$id"
done
check "certificates made" test -s "$pki/TPS0002.pem"

# The shipped config, pointed at this folder and a free port.
port=$(stack_random_port)
sed -e "s|^listener 8883|listener $port 127.0.0.1|" -e "s|/etc/mosquitto/tpdiag|$pki|" \
	-e "s|^persistence_location .*|persistence_location $CHECK_DIR/|" \
	cloud/mosquitto/tpdiag.conf > "$CHECK_DIR/tls.conf"
cp cloud/mosquitto/acl "$pki/acl"
printf 'user %s\nlog_dest file %s/mosquitto.log\n' "$(id -un)" "$CHECK_DIR" >> "$CHECK_DIR/tls.conf"
mosquitto -c "$CHECK_DIR/tls.conf" > /dev/null 2>&1 &
STACK_PIDS+=("$!")
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
STACK_BROKER_URL="mqtts://127.0.0.1:$port"
STACK_BROKER_PORT=$port
stack_collector --ca "$pki/ca.pem" --cert "$pki/tpcollect.pem" --tls-key "$pki/tpcollect.key"
check "collector up over TLS" test -n "$STACK_API"

pub() {  # pub CERTNAME TOPIC MESSAGE
	mosquitto_pub -h 127.0.0.1 -p "$port" --cafile "$pki/ca.pem" --cert "$pki/$1.pem" \
		--key "$CHECK_DIR/keys/$1.key" -q 1 -t "$2" -m "$3" -i "pub-$1"
}
hdr() { echo '"v":1,"dev":"'"$1"'","model":"archer-ax55","fw":"1","ts":1764000000'; }

# A device over TLS with its certificate: reports arrive, a claim opens.
"$STACK_BIN/tpdiagd" --id TPS0001 --trace tests/fixtures/traces/TPT0001.csv --speed max \
	--exit-at-end --broker "$STACK_BROKER_URL" --ca "$pki/ca.pem" --cert "$pki/TPS0001.pem" \
	--key "$CHECK_DIR/keys/TPS0001.key" --state-dir "$CHECK_DIR/dev1" 2> "$CHECK_DIR/agent.log"
check_eq "tpdiagd over TLS exits 0" 0 $?
check_eq "its claim opens" 1 "$(wait_db "select count(*) from claims where device='TPS0001'" 1)"
check "every report verified" [ "$(db "select count(*) from reports where dev='TPS0001' and kind='fault' and verified=0")" = 0 ]

# No certificate: refused at the handshake.
mosquitto_pub -h 127.0.0.1 -p "$port" --cafile "$pki/ca.pem" -q 1 -t tp/v1/TPS0002/telemetry \
	-m '{}' > /dev/null 2>&1
check "a client without a certificate is refused" [ $? -ne 0 ]
# Plain TCP: refused.
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t tp/v1/TPS0002/telemetry -m '{}' > /dev/null 2>&1
check "plain MQTT on the TLS port is refused" [ $? -ne 0 ]

# TPS0002's certificate under TPS0001's id: the broker drops it (ACL).
pub TPS0002 tp/v1/TPS0001/telemetry '{'"$(hdr TPS0001)"',"seq":900001,"period_s":60,"sensors":{}}'
# ...and under its own id it is delivered, so the drop above was the ACL.
pub TPS0002 tp/v1/TPS0002/telemetry '{'"$(hdr TPS0002)"',"seq":7,"period_s":60,"sensors":{}}'
check_eq "its own report is stored" 1 "$(wait_db "select count(*) from telemetry t join names n on n.id = t.dev_id where n.name = 'TPS0002' and t.seq = 7" 1)"
check_eq "the one under another id is not" 0 "$(db "select (select count(*) from reports where seq = 900001) + (select count(*) from telemetry where seq = 900001)")"

# A device reads only its own commands.
mosquitto_sub -h 127.0.0.1 -p "$port" --cafile "$pki/ca.pem" --cert "$pki/TPS0002.pem" \
	--key "$CHECK_DIR/keys/TPS0002.key" -q 1 -t tp/v1/TPS0001/cmd -i spy -W 3 \
	> "$CHECK_DIR/spy.out" 2>/dev/null &
spy=$!
mosquitto_sub -h 127.0.0.1 -p "$port" --cafile "$pki/ca.pem" --cert "$pki/TPS0001.pem" \
	--key "$CHECK_DIR/keys/TPS0001.key" -q 1 -t tp/v1/TPS0001/cmd -i own -W 3 \
	> "$CHECK_DIR/own.out" 2>/dev/null &
own=$!
sleep 0.5
"$STACK_BIN/tpclaim" --api "$STACK_API" transition C-000001 in_review > /dev/null
check_eq "the notice went out" 0 "$(wait_db "select count(*) from outbox where sent_at is null" 0)"
wait "$spy" "$own" 2>/dev/null
check_eq "the device's own certificate reads it" 1 "$(grep -c '"state":"in_review"' "$CHECK_DIR/own.out")"
check_eq "another device's certificate reads none of TPS0001's commands" 0 "$(grep -c claim "$CHECK_DIR/spy.out")"
check_done
