# shellcheck shell=sh
# bench_world.sh - the benchmark world of issue 7 parts 3 and 4: N generated
# domains, each with an MTA-STS policy, served by a DNS server and an HTTPS
# server of their own, inside the slot of a started test world.
#
#   . "$srcdir/tests/world/world.sh"; world_start     # takes a slot 127.53.K.0/24
#   . "$srcdir/tests/bench/bench_world.sh"
#   bench_world_start DIR N || exit 1                  # sets the BW_* variables
#   ...
#   bench_world_stop                                   # by PID
#
# Domains: b1.test ... bN.test (list in $BW_DIR/domains), each with
#   bI          MX 10 mx1.bI.test.      (mx1.bI -> $WORLD_NET.25, nothing listens)
#   _mta-sts.bI TXT "v=STSv1; id=20261123T000000;"
#   mta-sts.bI  A   $BW_HTTPS_ADDR      (nginx; the policy names mx1.bI.test)
# with "mode: enforce", and t1.test ... t3.test the same with "mode: testing".
# TTLs are one hour (the test world's are 1 s), so that a warm cache stays
# warm during the measurements.
#
# DNS: a second nsd, authoritative for "test.", on $WORLD_NET.10:53
# ($BW_DNS, forwarder syntax "ADDR@53"); bench_world_dns_queries prints the
# number of queries it has answered (nsd-control stats_noreset).
# HTTPS: nginx on $WORLD_NET.11:443.  Certificates: one wildcard cannot
# span different domains' mta-sts hosts, so the hosts are covered by SAN
# certificates of BW_SANS (100) names each, as a hosting provider's
# multi-domain certificates are: N/100 certificates sharing one P-256 key,
# issued by a CA made here ($BW_CA), one nginx server block each.  This keeps
# generation to a second or two for 10,000 domains and the handshake cost
# realistic (a ~4 KB chain).  The access log has one line per request:
# "HOST STATUS"; bench_world_fetches prints the request count.
#
# Addresses stay inside the slot that world_start took, so benchmarks and
# tests running at the same time never share a port.
BW_SANS=${BW_SANS:-100}

_bw_err() { printf 'bench_world: %s\n' "$*" >&2; }

# bench_world_start DIR N
bench_world_start() {
    BW_DIR=$1
    BW_N=$2
    [ -n "${WORLD_NET-}" ] || { _bw_err "start the test world first (it gives the slot)"; return 1; }
    BW_NS_ADDR=$WORLD_NET.10
    BW_HTTPS_ADDR=$WORLD_NET.11
    BW_DNS=$BW_NS_ADDR@53
    mkdir -p "$BW_DIR/nsd" "$BW_DIR/nginx/tmp" "$BW_DIR/certs" || return 1

    # The zone and the domain list.
    awk -v n="$BW_N" -v net="$WORLD_NET" -v https="$BW_HTTPS_ADDR" -v ns="$BW_NS_ADDR" \
        -v dlist="$BW_DIR/domains" 'BEGIN {
        print "$ORIGIN test."
        print "$TTL 3600"
        print "@ SOA ns.test. hostmaster.test. 1 3600 600 86400 3600"
        print "@ NS ns.test."
        print "ns A " ns
        for (i = 1; i <= n + 3; i++) {
            d = i <= n ? "b" i : "t" (i - n)
            printf "%s MX 10 mx1.%s.test.\nmx1.%s A %s.25\nmta-sts.%s A %s\n", d, d, d, net, d, https
            printf "_mta-sts.%s TXT \"v=STSv1; id=20261123T000000;\"\n", d
            if (i <= n)
                printf "%s.test\n", d > dlist
        }
    }' >"$BW_DIR/nsd/test.zone" || return 1
    cat >"$BW_DIR/nsd/nsd.conf" <<EOF
server:
	ip-address: $BW_NS_ADDR
	port: 53
	do-ip4: yes
	do-ip6: no
	server-count: 1
	reuseport: no
	username: ""
	chroot: ""
	zonesdir: ""
	database: ""
	zonelistfile: "$BW_DIR/nsd/zone.list"
	xfrdfile: "$BW_DIR/nsd/xfrd.state"
	xfrdir: "$BW_DIR/nsd"
	pidfile: "$BW_DIR/nsd/nsd.pid"
	logfile: "$BW_DIR/nsd/nsd.log"
	verbosity: 1
	hide-version: yes
remote-control:
	control-enable: yes
	control-interface: "$BW_DIR/nsd/control.sock"
zone:
	name: "test."
	zonefile: "$BW_DIR/nsd/test.zone"
EOF
    timeout "${WORLD_LIFETIME:-1800}" nsd -d -c "$BW_DIR/nsd/nsd.conf" </dev/null \
        >"$BW_DIR/nsd/stderr.log" 2>&1 &
    BW_NSD_PID=$!

    # The CA, one key, and one SAN certificate per BW_SANS hosts.
    (
        cd "$BW_DIR/certs" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=mtasts bench CA" -keyout ca.key -out ca.pem \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
            2>/dev/null || exit 1
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out host.key 2>/dev/null ||
            exit 1
        awk -v n="$BW_N" -v per="$BW_SANS" 'BEGIN {
            for (c = 0; c * per < n + 3; c++) {
                s = ""
                for (i = c * per + 1; i <= n + 3 && i <= (c + 1) * per; i++)
                    s = s (s == "" ? "" : ",") "DNS:mta-sts." (i <= n ? "b" i : "t" (i - n)) ".test"
                print c, s
            }
        }' | while read -r c sans; do
            openssl req -x509 -new -key host.key -CA ca.pem -CAkey ca.key -days 2 \
                -subj "/CN=mta-sts bench $c" -addext "subjectAltName=$sans" \
                -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth \
                -out "c$c.pem" 2>/dev/null || exit 1
            printf '%s\n' "$sans" | tr ',' '\n' | sed 's/^DNS://' | tr '\n' ' ' >"c$c.names"
        done
    ) || { _bw_err "certificate generation failed"; return 1; }
    BW_CA=$BW_DIR/certs/ca.pem

    # nginx: one server block per certificate.
    {
        cat <<EOF
daemon off;
master_process on;
worker_processes 2;
user root;
pid $BW_DIR/nginx/nginx.pid;
error_log $BW_DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
	log_format bench '\$host \$status';
	access_log $BW_DIR/nginx/access.log bench;
	client_body_temp_path $BW_DIR/nginx/tmp/body;
	proxy_temp_path $BW_DIR/nginx/tmp/proxy;
	fastcgi_temp_path $BW_DIR/nginx/tmp/fastcgi;
	uwsgi_temp_path $BW_DIR/nginx/tmp/uwsgi;
	scgi_temp_path $BW_DIR/nginx/tmp/scgi;
	default_type text/plain;
	charset off;
	server_tokens off;
	keepalive_timeout 10s;
	server_names_hash_max_size 65536;
	server_names_hash_bucket_size 128;
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_certificate_key $BW_DIR/certs/host.key;
	map \$host \$sts_domain { "~^mta-sts\\.(?<d>.+)\$" \$d; }
	map \$host \$sts_mode { "~^mta-sts\\.t[0-9]+\\.test\$" testing; default enforce; }
	server {
		listen $BW_HTTPS_ADDR:443 ssl default_server;
		ssl_reject_handshake on;
	}
EOF
        for f in "$BW_DIR"/certs/c[0-9]*.pem; do
            printf '\tserver {\n\t\tlisten %s:443 ssl;\n\t\tserver_name %s;\n' \
                "$BW_HTTPS_ADDR" "$(cat "${f%.pem}.names")"
            printf '\t\tssl_certificate %s;\n' "$f"
            printf '\t\tlocation = /.well-known/mta-sts.txt {\n'
            # shellcheck disable=SC2016 # $sts_domain is nginx's variable
            printf '\t\t\treturn 200 "version: STSv1\\r\\nmode: $sts_mode\\r\\nmx: mx1.$sts_domain\\r\\nmax_age: 604800\\r\\n";\n'
            printf '\t\t}\n\t\tlocation / { return 404; }\n\t}\n'
        done
        printf '}\n'
    } >"$BW_DIR/nginx/nginx.conf"
    timeout "${WORLD_LIFETIME:-1800}" nginx -e "$BW_DIR/nginx/error.log" -p "$BW_DIR/nginx/" \
        -c "$BW_DIR/nginx/nginx.conf" </dev/null >"$BW_DIR/nginx/stderr.log" 2>&1 &
    BW_NGINX_PID=$!

    # Readiness, with a deadline: nsd answers for the last domain, nginx
    # serves its policy.
    _bw_i=0
    until [ "$(dig +short +time=1 +tries=1 -p 53 @"$BW_NS_ADDR" "b$BW_N.test" MX 2>/dev/null)" = \
        "10 mx1.b$BW_N.test." ] && curl -sf --max-time 2 --cacert "$BW_CA" \
        --resolve "mta-sts.b$BW_N.test:443:$BW_HTTPS_ADDR" \
        "https://mta-sts.b$BW_N.test/.well-known/mta-sts.txt" 2>/dev/null | grep -q "mx1.b$BW_N.test"; do
        _bw_i=$((_bw_i + 1))
        if [ $_bw_i -gt 150 ]; then
            _bw_err "nsd or nginx not ready after 15 s"
            tail -5 "$BW_DIR/nsd/stderr.log" "$BW_DIR/nsd/nsd.log" "$BW_DIR/nginx/error.log" \
                "$BW_DIR/nginx/stderr.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    : >"$BW_DIR/nginx/access.log" # the readiness probe is not a fetch
    export BW_DIR BW_N BW_DNS BW_CA BW_NS_ADDR BW_HTTPS_ADDR
}

# bench_world_dns_queries: queries nsd has answered since it started.
bench_world_dns_queries() {
    nsd-control -c "$BW_DIR/nsd/nsd.conf" stats_noreset 2>/dev/null |
        sed -n 's/^num\.queries=//p'
}

# bench_world_fetches: policy requests nginx has logged.
bench_world_fetches() {
    wc -l <"$BW_DIR/nginx/access.log" | tr -d ' '
}

bench_world_stop() {
    for _bw_p in ${BW_NGINX_PID-} ${BW_NSD_PID-}; do
        kill -TERM "$_bw_p" 2>/dev/null
        wait "$_bw_p" 2>/dev/null
    done
    BW_NGINX_PID=
    BW_NSD_PID=
}
