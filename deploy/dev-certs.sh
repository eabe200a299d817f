#!/usr/bin/env bash
# dev-certs.sh - a development CA, a server certificate for localhost and
# client certificates, for trying valvd with mutual TLS. Not for production:
# the CA key lies next to the certificates it signs.
#
# Usage: deploy/dev-certs.sh DIR [CLIENT...]
#
# Writes into DIR (created if missing):
#   ca.crt, ca.key              the development CA (kept and reused if DIR has one)
#   server.crt, server.key      SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   CLIENT.crt, CLIENT.key      CN=CLIENT, SAN DNS:CLIENT.clients.valv.test
# The default clients are the principals of deploy/principals.example.json
# that authenticate by certificate; their "cert" identity is the SAN.
set -euo pipefail

usage() {
    echo "Usage: $0 DIR [CLIENT...]" >&2
    echo "Makes a development CA, a localhost server certificate and client certificates in DIR." >&2
    exit 2
}
[[ $# -ge 1 && $1 != -* ]] || usage
dir=$1
shift
clients=("$@")
[[ ${#clients[@]} -gt 0 ]] || clients=(lena anna sakerhetsskyddschef revisor drift)

for name in "${clients[@]}"; do
    [[ $name =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || {
        echo "$0: client name '$name': use a-z, 0-9 and '-' (it becomes a DNS name)" >&2
        exit 2
    }
done

days=825
umask 077 # keys readable by their owner only
mkdir -p "$dir"
cd "$dir"

# new_key FILE: an EC P-256 key, which gRPC and every TLS 1.3 client accept.
new_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# sign NAME SUBJECT EXTENSIONS: NAME.key (new) and NAME.crt signed by the CA.
sign() {
    local name=$1 subject=$2 extensions=$3
    new_key "$name.key"
    openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -days "$days" -sha256 -extfile <(printf '%s\n' "$extensions") -out "$name.crt" 2>/dev/null
    rm -f "$name.csr"
    chmod 644 "$name.crt"
    echo "  $dir/$name.crt  $(openssl x509 -in "$name.crt" -noout -ext subjectAltName | tail -n 1 | sed 's/^ *//')"
}

if [[ -f ca.key && -f ca.crt ]]; then
    echo "reusing the CA in $dir/ca.crt"
else
    new_key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=Valv development CA" \
        -addext "basicConstraints=critical,CA:true" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
    chmod 644 ca.crt
    echo "made the CA:"
    echo "  $dir/ca.crt"
fi

echo "made the server certificate:"
sign server "/CN=localhost" "basicConstraints=CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

echo "made client certificates (the SAN is the principal's \"cert\" identity):"
for name in "${clients[@]}"; do
    sign "$name" "/CN=$name" "basicConstraints=CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:$name.clients.valv.test"
done
