# shellcheck shell=sh
# shellcheck disable=SC2154,SC2153 # _world_* state and WORLD_* come from world.sh
# shellcheck disable=SC1091,SC2015 # tlsa.env is generated; "A && B || fail"
# Part of the local test world (tests/world/world.sh), read by its
# world_start_mx, world_start_dnssec and world_start_resolver on first use:
# real SMTP MX hosts, DNSSEC-signed zones and a validating resolver.  The
# scenarios are documented in world.sh's header, test.zone.in, dane.zone.in
# and bogus.zone.in.  Everything runs from WORLD_DIR, on the world's slot
# addresses, under "timeout $WORLD_LIFETIME", and is stopped by world_stop
# (by PID) or, if the test script dies, by an extra watchdog.
#
#   WORLD_DIR/mxpki     certificates of the MX hosts (world CA, second CA)
#   WORLD_DIR/mx        the MX Postfix: etc/ (main.cf, master.cf), queue/,
#                       data/, maillog ($WORLD_MX_LOG)
#   WORLD_DIR/dnssec    keys, unsigned zones, signing logs
#   WORLD_DIR/nsd/<zone>.zone  the signed (and tampered) zones nsd loads
#   WORLD_DIR/trust-anchors    DS records of the signed zones ($WORLD_TA)
#   WORLD_DIR/unbound   the resolver's configuration and log

_world_ms() { date +%s%3N; }

# _world_adopt PID...: world_stop stops these too; a watchdog of their own
# stops them if the test script dies (world_start's watchdog only knows
# the processes it started with).
_world_adopt() {
    _world_pids="$_world_pids $*"
    # shellcheck disable=SC2086
    timeout "$_world_life" sh "$_world_lib/watchdog.sh" $$ "$WORLD_DIR" 1 "$@" \
        </dev/null >/dev/null 2>&1 &
    _world_pid_watchdog="$_world_pid_watchdog $!"
}

# _world_mx_need PROGRAM...: 77 (skip) when one is missing.
_world_mx_need() {
    _world_missing=
    for _world_t in "$@"; do
        command -v "$_world_t" >/dev/null 2>&1 || _world_missing="$_world_missing $_world_t"
    done
    if [ -n "$_world_missing" ]; then
        _world_err "missing:$_world_missing (install the packages in tests/world/packages.txt)"
        return 77
    fi
}

# _world_sha256 < DER: the lower-case hex SHA-256.
_world_sha256() { openssl dgst -sha256 -r | cut -d' ' -f1; }

# _world_mx_pki: the MX hosts' keys and certificates, once (world_start_mx
# and world_start_dnssec both need them: TLSA records hash them).
#   mx.key          key of every world-CA MX certificate
#   <label>.pem     world-CA leaf: mxgood mxwild mxwrongname mxexpired
#                   mxoldtls badtlsa notlsa tlsabogus bogus
#   mxselfsigned.{key,pem}  self-signed, mx1.mxselfsigned.test
#   ca2.{key,pem}   the second private CA ($WORLD_MX_CA2)
#   gooddane.{key,pem}      CA2 leaf, mx1.good.dane.test (DANE-EE)
#   tadane.{key,pem}        CA2 leaf, mx1.ta.dane.test; tadane-chain.pem
#                           = leaf + CA2 (what the server sends; DANE-TA)
#   other.key       a key no server uses (badtlsa's TLSA hashes it)
#   tlsa.env        the TLSA hashes, as shell assignments
_world_mx_pki() {
    _world_m=$WORLD_DIR/mxpki
    [ -f "$_world_m/tlsa.env" ] && return 0
    mkdir -p "$_world_m/newcerts" && chmod 700 "$_world_m" || return 1
    : >"$_world_m/index.txt"
    echo 2000 >"$_world_m/serial"
    cat >"$_world_m/openssl.cnf" <<EOF
# only for the test world's MX certificates (tests/world/mx.sh)
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = unused
[ca]
default_ca = mx_ca
[mx_ca]
database = $_world_m/index.txt
new_certs_dir = $_world_m/newcerts
serial = $_world_m/serial
certificate = $WORLD_DIR/pki/ca.pem
private_key = $WORLD_DIR/pki/ca.key
default_md = sha256
policy = mx_policy
unique_subject = no
email_in_dn = no
copy_extensions = none
[mx_policy]
commonName = supplied
[mx_expired_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx1.mxexpired.test
EOF
    # shellcheck disable=SC2086 # $leafext and $ec are lists of arguments
    (
        cd "$_world_m" || exit 1
        OPENSSL_CONF=$_world_m/openssl.cnf
        export OPENSSL_CONF
        ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
        leafext="-addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature -addext extendedKeyUsage=serverAuth"
        gen() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        gen mx.key &
        k1=$!
        gen gooddane.key &
        k2=$!
        gen tadane.key &
        k3=$!
        gen other.key &
        k4=$!
        openssl req -x509 -new $ec -keyout mxselfsigned.key -out mxselfsigned.pem -days 30 \
            -subj /CN=mx1.mxselfsigned.test -addext subjectAltName=DNS:mx1.mxselfsigned.test \
            $leafext &
        k5=$!
        openssl req -x509 -new $ec -keyout ca2.key -out ca2.pem -days 30 \
            -subj "/CN=mtasts-milter test world second CA (unknown to everyone)" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign || exit 1
        wait $k1 && wait $k2 && wait $k3 && wait $k4 && wait $k5 || exit 1
        # leaf OUT KEY CA-PREFIX SUBJECT-CN SAN
        leaf() {
            openssl req -x509 -new -key "$2" -CA "$3.pem" -CAkey "$3.key" -days 30 \
                -subj "/CN=$4" -addext "subjectAltName=$5" $leafext -out "$1"
        }
        w=$WORLD_DIR/pki/ca
        pids=
        for l in mxgood mxoldtls; do
            leaf $l.pem mx.key "$w" mx1.$l.test DNS:mx1.$l.test &
            pids="$pids $!"
        done
        for l in badtlsa notlsa tlsabogus; do
            leaf $l.pem mx.key "$w" mx1.$l.dane.test DNS:mx1.$l.dane.test &
            pids="$pids $!"
        done
        leaf bogus.pem mx.key "$w" mx1.bogus.test DNS:mx1.bogus.test &
        pids="$pids $!"
        leaf mxwild.pem mx.key "$w" '*.mxwild.test' 'DNS:*.mxwild.test' &
        pids="$pids $!"
        leaf mxwrongname.pem mx.key "$w" mx1.other.test DNS:mx1.other.test &
        pids="$pids $!"
        leaf gooddane.pem gooddane.key ca2 mx1.good.dane.test DNS:mx1.good.dane.test &
        pids="$pids $!"
        leaf tadane.pem tadane.key ca2 mx1.ta.dane.test DNS:mx1.ta.dane.test &
        pids="$pids $!"
        openssl req -new -key mx.key -subj /CN=mx1.mxexpired.test -out mxexpired.csr &&
            openssl ca -batch -notext -in mxexpired.csr -out mxexpired.pem \
                -startdate 20200101000000Z -enddate 20200201000000Z -extensions mx_expired_ext ||
            exit 1
        for p in $pids; do wait "$p" || exit 1; done
        cat tadane.pem ca2.pem >tadane-chain.pem || exit 1
        spki() { openssl pkey -in "$1" -pubout -outform DER | _world_sha256; }
        good=$(spki gooddane.key) && mx=$(spki mx.key) && other=$(spki other.key) &&
            ta=$(openssl x509 -in ca2.pem -outform DER | _world_sha256) || exit 1
        for h in "$good" "$mx" "$other" "$ta"; do
            [ ${#h} = 64 ] || exit 1
        done
        printf '_world_tlsa_good=%s\n_world_tlsa_mx=%s\n_world_tlsa_other=%s\n_world_tlsa_ta=%s\n' \
            "$good" "$mx" "$other" "$ta" >tlsa.env.new && mv tlsa.env.new tlsa.env
    ) >"$_world_m/openssl.log" 2>&1 || {
        _world_err "making the MX certificates failed:"
        sed 's/^/world:   /' "$_world_m/openssl.log" >&2
        return 1
    }
    WORLD_MX_CA=$WORLD_CA
    WORLD_MX_CA2=$_world_m/ca2.pem
    export WORLD_MX_CA WORLD_MX_CA2
}

# The MX services: LABEL ADDRESS-SUFFIX CERT-FILE (- for none) HOST-NAME
# (the smtpd's myhostname, its EHLO name and banner).
_world_mx_table() {
    cat <<EOF
mxgood 30 mxgood.pem mx1.mxgood.test
mxwild 31 mxwild.pem mx1.mxwild.test
mxwrongname 32 mxwrongname.pem mx1.mxwrongname.test
mxexpired 33 mxexpired.pem mx1.mxexpired.test
mxselfsigned 34 mxselfsigned.pem mx1.mxselfsigned.test
mxnotls 35 - mx1.mxnotls.test
mxoldtls 36 mxoldtls.pem mx1.mxoldtls.test
gooddane 40 gooddane.pem mx1.good.dane.test
tadane 41 tadane-chain.pem mx1.ta.dane.test
badtlsa 42 badtlsa.pem mx1.badtlsa.dane.test
notlsa 43 notlsa.pem mx1.notlsa.dane.test
tlsabogus 44 tlsabogus.pem mx1.tlsabogus.dane.test
bogus 45 bogus.pem mx1.bogus.test
EOF
}

# _world_mx_conf: main.cf and master.cf of the MX Postfix.
_world_mx_conf() {
    _world_x=$WORLD_DIR/mx
    _world_m=$WORLD_DIR/mxpki
    mkdir -p "$_world_x/etc" "$_world_x/queue" "$_world_x/data" &&
        chown postfix "$_world_x/data" || return 1
    # The lines every private Postfix shares, then the MX hosts' own.
    sed -e "s|@ROLE@|The test world's MX hosts (tests/world/mx.sh).|" \
        -e "s|@QUEUE@|$_world_x/queue|" -e "s|@DATA@|$_world_x/data|" \
        -e "s|@MAILLOG@|$_world_x/maillog|" -e "s|@PREFIXES@|$WORLD_DIR|" \
        -e "s|@HOSTNAME@|mx.world.test|" -e "s|@DOMAIN@|world.test|" \
        "$_world_lib/postfix-main.cf.in" >"$_world_x/etc/main.cf" || return 1
    cat >>"$_world_x/etc/main.cf" <<EOF
# Accepts any recipient from loopback clients and discards the mail.  Each
# listening address has its own smtpd service in master.cf with its
# certificate, TLS settings and syslog_name mx-<label>.
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_banner = \$myhostname ESMTP test world MX
default_transport = discard:world-mx
relay_transport = discard:world-mx
smtp_dns_support_level = disabled
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# mxoldtls: TLS 1.0 and 1.1 only; OpenSSL 3 allows them at security level 0
world_oldtls_protocols = >=TLSv1, <=TLSv1.1
world_oldtls_ciphers = DEFAULT:@SECLEVEL=0
EOF
    {
        echo "# written by tests/world/mx.sh; no chroot"
        _world_mx_table | while read -r _world_l _world_a _world_c _world_h; do
            printf '%s:25 inet n - n - - smtpd\n  -o syslog_name=mx-%s -o myhostname=%s\n' \
                "$WORLD_NET.$_world_a" "$_world_l" "$_world_h"
            case $_world_c in
            -) echo "  -o smtpd_tls_security_level=none" ;;
            mxselfsigned.pem)
                echo "  -o smtpd_tls_cert_file=$_world_m/$_world_c -o smtpd_tls_key_file=$_world_m/mxselfsigned.key" ;;
            gooddane.pem | tadane-chain.pem)
                echo "  -o smtpd_tls_cert_file=$_world_m/$_world_c -o smtpd_tls_key_file=$_world_m/${_world_c%%[.-]*}.key" ;;
            *) echo "  -o smtpd_tls_cert_file=$_world_m/$_world_c -o smtpd_tls_key_file=$_world_m/mx.key" ;;
            esac
            [ "$_world_l" = mxoldtls ] &&
                echo "  -o smtpd_tls_protocols=\$world_oldtls_protocols -o tls_medium_cipherlist=\$world_oldtls_ciphers"
        done
        cat "$_world_lib/postfix-services.cf"
    } >"$_world_x/etc/master.cf" || return 1
    # Postfix waits (300 ms naps) until main.cf is a second old, lest it
    # read a file being written: date the fresh files back.
    touch -d '1 minute ago' "$_world_x/etc/main.cf" "$_world_x/etc/master.cf"
}

# _world_mx_queue: the queue directories, as Postfix's postfix-files makes
# them ("postfix check" would, but takes 1-6 s walking the installation).
_world_mx_queue() {
    _world_q=$WORLD_DIR/mx/queue
    chown root "$_world_q" && chmod 755 "$_world_q" || return 1
    for _world_d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
        mkdir -p "$_world_q/$_world_d" && chown postfix "$_world_q/$_world_d" &&
            chmod 700 "$_world_q/$_world_d" || return 1
    done
    mkdir -p "$_world_q/maildrop" "$_world_q/public" "$_world_q/pid" &&
        chown postfix:postdrop "$_world_q/maildrop" "$_world_q/public" &&
        chmod 730 "$_world_q/maildrop" && chmod 710 "$_world_q/public" &&
        chmod 755 "$_world_q/pid"
}

_world_mx_start() {
    [ -n "${_world_mx_up-}" ] && return 0
    _world_t0=$(_world_ms)
    _world_mx_need postfix postconf || return 77
    _world_pfd=$(postconf -d -h daemon_directory 2>/dev/null)
    if [ ! -x "$_world_pfd/master" ] || ! id postfix >/dev/null 2>&1; then
        _world_err "no Postfix master or postfix user (install the postfix package)"
        return 77
    fi
    # Postfix's daemons (user postfix) walk down to the queue.
    chmod 755 "$WORLD_DIR" && _world_mx_conf && _world_mx_queue && _world_mx_pki || return 1
    _world_x=$WORLD_DIR/mx
    WORLD_MX_LOG=$_world_x/maillog
    export WORLD_MX_LOG
    # Readiness: every address greets (220), within 3 x WORLD_START_TIMEOUT
    # (13 smtpd processes start and load their certificates: slow on a
    # loaded machine).  The probes are logged by Postfix as one session
    # ("connect from", "disconnect from ... quit=1") per address.
    # The master runs in the foreground (-s) under timeout, which forwards
    # SIGTERM to it from world_stop (the master stops its children).  Not
    # "postfix start": its checks take seconds on a loaded machine.
    timeout "$_world_life" "$_world_pfd/master" -c "$_world_x/etc" -s \
        </dev/null >"$_world_x/master.out" 2>&1 &
    _world_p1=$!
    timeout "$_world_life" /usr/bin/python3 "$_world_lib/mxtool.py" silent \
        --addr "$WORLD_NET.37" --port 25 --ready "$_world_x/silent.ready" \
        </dev/null >"$_world_x/silent.log" 2>&1 &
    _world_p2=$!
    _world_adopt "$_world_p1" "$_world_p2"
    _world_addrs=$(_world_mx_table | while read -r _world_l _world_a _world_r; do
        printf '%s ' "$WORLD_NET.$_world_a"
    done)
    # shellcheck disable=SC2086
    if ! /usr/bin/python3 "$_world_lib/mxtool.py" greet \
        --deadline $((3 * ${WORLD_START_TIMEOUT:-10})) $_world_addrs 2>"$_world_x/greet.log"; then
        _world_mx_master=$(sed -n '1{s/[^0-9]//g;p;}' "$_world_x/queue/pid/master.pid" 2>/dev/null)
        _world_err "world_start_mx: $(cat "$_world_x/greet.log")"
        for _world_f in "$_world_x/master.out" "$_world_x/maillog"; do
            [ -s "$_world_f" ] || continue
            _world_err "--- $_world_f"
            tail -n 15 "$_world_f" | sed 's/^/world:   /' >&2
        done
        return 1
    fi
    _world_mx_master=$(sed -n '1{s/[^0-9]//g;p;}' "$_world_x/queue/pid/master.pid" 2>/dev/null)
    _world_end=$(($(_world_now) + ${WORLD_START_TIMEOUT:-10}))
    until [ -s "$_world_x/silent.ready" ]; do
        if ! _world_alive "$_world_p2" || [ "$(_world_now)" -ge "$_world_end" ]; then
            _world_err "world_start_mx: the silent listener on $WORLD_NET.37:25 did not start"
            tail -n 15 "$_world_x/silent.log" | sed 's/^/world:   /' >&2
            return 1
        fi
        sleep 0.05
    done
    _world_mx_up=1
    WORLD_MX_SETUP_MS=$(($(_world_ms) - _world_t0))
    export WORLD_MX_SETUP_MS
}

# _world_sign ZONE TEMPLATE: sign WORLD_DIR/dnssec/ZONE (from TEMPLATE) into
# WORLD_DIR/nsd/ZONE.zone.new; the DS goes to WORLD_DIR/dnssec/ZONE.ds.
_world_sign() {
    _world_s=$WORLD_DIR/dnssec
    # shellcheck disable=SC1091
    . "$WORLD_DIR/mxpki/tlsa.env" || return 1
    sed -e "s|@NET@|$WORLD_NET|g" -e "s|@SERIAL@|1|g" \
        -e "s|@TLSA_GOOD@|$_world_tlsa_good|g" -e "s|@TLSA_TA@|$_world_tlsa_ta|g" \
        -e "s|@TLSA_OTHER@|$_world_tlsa_other|g" -e "s|@TLSA_MX@|$_world_tlsa_mx|g" \
        "$_world_lib/$2" >"$_world_s/$1.unsigned" || return 1
    (
        cd "$_world_s" || exit 1
        k=$(ldns-keygen -a ECDSAP256SHA256 -k "$1") || exit 1
        ldns-signzone -o "$1." -f "$WORLD_DIR/nsd/$1.zone.new" "$1.unsigned" "$k" || exit 1
        ldns-key2ds -n -2 "$k.key" >"$1.ds" || exit 1
        grep -q 'DS' "$1.ds"
    ) >"$_world_s/$1.log" 2>&1 || {
        _world_err "signing $1 failed:"
        sed 's/^/world:   /' "$_world_s/$1.log" >&2
        return 1
    }
}

_world_dnssec_start() {
    [ -n "${_world_dnssec_up-}" ] && return 0
    _world_t0=$(_world_ms)
    _world_mx_need ldns-keygen ldns-signzone ldns-key2ds || return 77
    mkdir -p "$WORLD_DIR/dnssec" && _world_mx_pki || return 1
    _world_n=$WORLD_DIR/nsd
    _world_sign dane.test dane.zone.in && _world_sign bogus.test bogus.zone.in || return 1
    # The tampering, after signing: the RRSIGs stay those of the old data.
    # dane.test: tlsabogus's TLSA gets another hash; bogus.test: MX 20 -> 10.
    . "$WORLD_DIR/mxpki/tlsa.env" || return 1
    awk -v old="$_world_tlsa_mx" -v new="$_world_tlsa_other" '
        $1 == "_25._tcp.mx1.tlsabogus.dane.test." && $4 == "TLSA" { n += sub(old, new) }
        { print } END { exit n == 1 ? 0 : 1 }' "$_world_n/dane.test.zone.new" >"$_world_n/dane.test.zone" &&
        awk '$1 == "bogus.test." && $4 == "MX" && $5 == "20" { $5 = 10; n++ }
        { print } END { exit n == 1 ? 0 : 1 }' "$_world_n/bogus.test.zone.new" >"$_world_n/bogus.test.zone" || {
        _world_err "world_start_dnssec: tampering with the signed zones failed"
        return 1
    }
    rm -f "$_world_n/dane.test.zone.new" "$_world_n/bogus.test.zone.new"
    for _world_z in dane.test bogus.test; do
        if ! nsd-checkzone "$_world_z." "$_world_n/$_world_z.zone" >"$WORLD_DIR/dnssec/check.log" 2>&1 ||
            ! nsd-control -c "$_world_n/nsd.conf" addzone "$_world_z" world-signed \
                >"$WORLD_DIR/dnssec/control.log" 2>&1; then
            _world_err "world_start_dnssec: nsd does not take $_world_z.:"
            sed 's/^/world:   /' "$WORLD_DIR/dnssec/check.log" "$WORLD_DIR/dnssec/control.log" >&2
            return 1
        fi
    done
    WORLD_TA=$WORLD_DIR/trust-anchors
    {
        echo "; DS records of the test world's signed zones (tests/world/mx.sh);"
        echo "; a trust-anchor-file for unbound and ub_ctx_add_ta_file."
        cat "$WORLD_DIR/dnssec/dane.test.ds" "$WORLD_DIR/dnssec/bogus.test.ds"
    } >"$WORLD_TA.new" && mv "$WORLD_TA.new" "$WORLD_TA" && chmod 644 "$WORLD_TA" || return 1
    export WORLD_TA
    # Served once nsd answers both SOAs with RRSIGs.
    _world_end=$(($(_world_now) + ${WORLD_START_TIMEOUT:-10}))
    for _world_z in dane.test bogus.test; do
        until dig +dnssec +norec +time=1 +tries=1 -p 53 "@$WORLD_NS_ADDR" "$_world_z." SOA 2>/dev/null |
            grep -q "^$_world_z\\.[[:space:]].*RRSIG[[:space:]]*SOA"; do
            if [ "$(_world_now)" -ge "$_world_end" ]; then
                _world_err "world_start_dnssec: nsd does not serve $_world_z. after ${WORLD_START_TIMEOUT:-10} s"
                tail -n 15 "$_world_n/nsd.log" | sed 's/^/world:   /' >&2
                return 1
            fi
            sleep 0.05
        done
    done
    _world_dnssec_up=1
    WORLD_MX_SETUP_MS=$(($(_world_ms) - _world_t0))
    export WORLD_MX_SETUP_MS
}

_world_resolver_start() {
    [ -n "${_world_resolver_up-}" ] && return 0
    _world_mx_need unbound unbound-checkconf || return 77
    _world_dnssec_start || return $?
    _world_t0=$(_world_ms)
    _world_u=$WORLD_DIR/unbound
    mkdir -p "$_world_u" || return 1
    sed -e "s|@DIR@|$WORLD_DIR|g" -e "s|@NET@|$WORLD_NET|g" -e "s|@NS_ADDR@|$WORLD_NS_ADDR|g" \
        -e "s|@TA@|$WORLD_TA|g" "$_world_lib/unbound.conf.in" >"$_world_u/unbound.conf" || return 1
    if ! unbound-checkconf "$_world_u/unbound.conf" >"$_world_u/checkconf.log" 2>&1; then
        _world_err "world_start_resolver: unbound-checkconf:"
        sed 's/^/world:   /' "$_world_u/checkconf.log" >&2
        return 1
    fi
    timeout "$_world_life" unbound -d -c "$_world_u/unbound.conf" \
        </dev/null >"$_world_u/stderr.log" 2>&1 &
    _world_p1=$!
    _world_adopt "$_world_p1"
    WORLD_RESOLVER=$WORLD_NET.4
    export WORLD_RESOLVER
    # Ready once it answers a validated (ad) SOA of dane.test.
    _world_end=$(($(_world_now) + ${WORLD_START_TIMEOUT:-10}))
    until dig +dnssec +time=1 +tries=1 -p 53 "@$WORLD_RESOLVER" dane.test. SOA 2>/dev/null |
        grep -q '^;; flags:.* ad[ ;]'; do
        if ! _world_alive "$_world_p1" || [ "$(_world_now)" -ge "$_world_end" ]; then
            _world_err "world_start_resolver: unbound on $WORLD_RESOLVER does not validate dane.test."
            tail -n 15 "$_world_u/stderr.log" "$_world_u/unbound.log" 2>/dev/null | sed 's/^/world:   /' >&2
            return 1
        fi
        sleep 0.05
    done
    _world_resolver_up=1
    WORLD_MX_SETUP_MS=$(($(_world_ms) - _world_t0))
    export WORLD_MX_SETUP_MS
}
