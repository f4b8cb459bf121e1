# Shared shell for the integration tests: TAP output, a private s3rver
# on a free loopback port with its own data directory, and clean-up.
# Source it, call s3rver_start, then use ok/is/run_p3.
#
# With P3_TEST_SERVER=ceph (make check-ceph), s3rver_start instead
# attaches to the Ceph RGW that tests/cephctl started under
# P3_CEPH_DIR: the same proxy logs the requests, and RGW itself checks
# signatures and Content-MD5.  Parts that only s3rver can do (reading
# its data directory, freezing it) ask on_s3rver first.

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${P3BACKUP:=$top_builddir/src/p3backup}"

TAP_N=0
TAP_FAILED=0

# ok STATUS DESCRIPTION: one TAP line; STATUS 0 passes.
ok() {
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $2"
		return 1
	fi
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  [%s]\n#   want: [%s]\n' "$1" "$2"
		return 1
	fi
}

# contains HAYSTACK NEEDLE DESCRIPTION
contains() {
	case "$1" in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; printf '#   [%s]\n#   does not contain [%s]\n' "$1" "$2" ;;
	esac
}

# skip N REASON: N tests that cannot run here.
skip() {
	local i
	for i in $(seq 1 "$1"); do
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N # SKIP $2"
	done
}

diag() {
	printf '# %s\n' "$*"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/p3test.XXXXXX")
S3RVER_PID=
PROXY_PID=

cleanup() {
	extra_proxy_stop
	if [ -n "$PROXY_PID" ]; then
		kill "$PROXY_PID" 2>/dev/null
		wait "$PROXY_PID" 2>/dev/null
	fi
	if [ -n "$S3RVER_PID" ]; then
		kill "$S3RVER_PID" 2>/dev/null
		wait "$S3RVER_PID" 2>/dev/null
	fi
	rm -rf "$T"
}

finish() {
	echo "1..$TAP_N"
	cleanup
	trap - EXIT
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}
trap cleanup EXIT

# Install s3rver once into a cache shared by every test of this build
# (never globally), under a lock so parallel tests do not race.
s3rver_install() {
	S3RVER_CACHE=${P3_TEST_CACHE:-$top_builddir/tests/.cache}
	mkdir -p "$S3RVER_CACHE"
	S3RVER_BIN=$S3RVER_CACHE/node_modules/.bin/s3rver
	(
		flock 9
		if [ ! -x "$S3RVER_BIN" ]; then
			npm install --prefix "$S3RVER_CACHE" --no-audit \
			    --no-fund --loglevel=error s3rver@3.7.1 >&2
		fi
	) 9>"$S3RVER_CACHE/.lock"
	[ -x "$S3RVER_BIN" ]
}

# A copy of p3backup that an unprivileged user can run, under $T (which
# the caller opens with chmod 755): the build tree may sit where such a
# user cannot enter (a clone in /root, mode 0700).
nobody_binary() {
	cp "$P3BACKUP" "$T/p3backup.nobody" && chmod 755 "$T/p3backup.nobody" &&
	    echo "$T/p3backup.nobody"
}

# Whether the tests run against s3rver (not Ceph RGW).
on_s3rver() {
	[ "${P3_TEST_SERVER:-s3rver}" = s3rver ]
}

# The Ceph RGW of make check-ceph: its endpoint and keys.
ceph_attach() {
	local CEPH_ENDPOINT= CEPH_ACCESS_KEY= CEPH_SECRET_KEY=
	local CEPH_ACCESS_KEY2= CEPH_SECRET_KEY2=
	[ -n "${P3_CEPH_DIR:-}" ] && [ -f "$P3_CEPH_DIR/env" ] || {
		echo "Bail out! no Ceph RGW at P3_CEPH_DIR (make check-ceph starts one)"
		exit 99
	}
	. "$P3_CEPH_DIR/env"
	S3_PORT=${CEPH_ENDPOINT##*:}
	S3_DATA=
	S3_DIRECT=$CEPH_ENDPOINT
	S3_KEY=$CEPH_ACCESS_KEY
	S3_SECRET=$CEPH_SECRET_KEY
	# A second account (CEPH_USER2), for cross-account cases.
	S3_KEY2=$CEPH_ACCESS_KEY2
	S3_SECRET2=$CEPH_SECRET_KEY2
	PROXY_VERIFY=
	proxy_start
	s3_env
}

# Start a private s3rver and point the AWS environment at it.
s3rver_start() {
	local try port data
	on_s3rver || { ceph_attach; return; }
	s3rver_install || { echo "Bail out! cannot install s3rver"; exit 99; }
	data=$T/s3data
	mkdir -p "$data"
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		NODE_OPTIONS=--openssl-legacy-provider "$S3RVER_BIN" -d "$data" \
		    -p "$port" -a 127.0.0.1 --silent >"$T/s3rver.log" 2>&1 &
		S3RVER_PID=$!
		for _ in $(seq 1 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				S3_PORT=$port
				S3_DATA=$data
				S3_DIRECT=http://127.0.0.1:$port
				proxy_start
				s3_env
				return 0
			fi
			kill -0 "$S3RVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$S3RVER_PID" 2>/dev/null
		wait "$S3RVER_PID" 2>/dev/null
		S3RVER_PID=
	done
	echo "Bail out! s3rver did not start"
	cat "$T/s3rver.log" >&2
	exit 99
}

# Every test request goes through tests/s3proxy.py, which checks each
# SigV4 signature and each Content-MD5 as S3 does (s3rver 3.7.1 checks
# neither) and logs every request, so tests count requests on the
# server side: see count_requests.
proxy_start() {
	REQLOG=$T/requests.log
	: > "$REQLOG"
	python3 "$top_srcdir/tests/s3proxy.py" --listen-port 0 \
	    --upstream "127.0.0.1:$S3_PORT" --log "$REQLOG" \
	    --port-file "$T/proxy.port" ${PROXY_VERIFY---verify-sigv4 S3RVER:S3RVER --check-md5} \
	    ${PROXY_ARGS:-} 2>"$T/proxy.err" &
	PROXY_PID=$!
	for _ in $(seq 1 100); do
		if [ -s "$T/proxy.port" ]; then
			S3_ENDPOINT=http://127.0.0.1:$(cat "$T/proxy.port")
			return 0
		fi
		kill -0 "$PROXY_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "Bail out! the test proxy did not start"
	cat "$T/proxy.err" >&2
	exit 99
}

# extra_proxy NAME ARG...: another proxy with these options in front of
# the same server; sets HP_URL and HP_LOG (its request log).  cleanup
# stops them, or extra_proxy_stop before.
EXTRA_PIDS=
extra_proxy() {
	local name=$1
	shift
	HP_LOG=$T/$name.log
	python3 "$top_srcdir/tests/s3proxy.py" --listen-port 0 \
	    --upstream "127.0.0.1:$S3_PORT" --log "$HP_LOG" \
	    --port-file "$T/$name.port" \
	    ${PROXY_VERIFY---verify-sigv4 S3RVER:S3RVER --check-md5} \
	    "$@" 2>"$T/$name.err" &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	for _ in $(seq 1 100); do
		[ -s "$T/$name.port" ] && break
		sleep 0.1
	done
	[ -s "$T/$name.port" ] || {
		echo "Bail out! the test proxy $name did not start"
		cat "$T/$name.err" >&2
		exit 99
	}
	HP_URL=http://127.0.0.1:$(cat "$T/$name.port")
}
extra_proxy_stop() {
	[ -n "${EXTRA_PIDS:-}" ] || return 0
	kill $EXTRA_PIDS 2>/dev/null
	wait $EXTRA_PIDS 2>/dev/null
	EXTRA_PIDS=
}

# count_requests METHOD [EXTENDED-REGEX]: requests logged since the last
# mark_requests, by method, whose path matches the pattern.
count_requests() {
	tail -n +$((REQMARK + 1)) "$REQLOG" |
	    awk -F '\t' -v m="$1" '$1 == m' |
	    grep -Ec -- "${2:-.}"
}

# count_uploads: PUTs since the last mark_requests but the run log's
# (.p3backup/runs/), which every backup run writes once.
count_uploads() {
	tail -n +$((REQMARK + 1)) "$REQLOG" |
	    awk -F '\t' '$1 == "PUT"' | grep -vc -- '/\.p3backup/runs/'
}

# wait_requests N SECONDS METHOD [REGEX]: wait until count_requests
# reaches N, or SECONDS pass.  (The caller checks the count itself.)
wait_requests() {
	local n=$1 tries=$(( $2 * 20 ))
	shift 2
	while [ "$tries" -gt 0 ] && [ "$(count_requests "$@")" -lt "$n" ]; do
		sleep 0.05
		tries=$((tries - 1))
	done
}

# Wait until the request log has not grown for half a second: the proxy
# logs a request when it ends, so those of a process just killed may
# still come in.
settle_requests() {
	local n
	while n=$(wc -l < "$REQLOG"); sleep 0.5; [ "$n" != "$(wc -l < "$REQLOG")" ]; do
		:
	done
}

# Start counting from here.
mark_requests() {
	REQMARK=$(wc -l < "$REQLOG")
}
REQMARK=0

# The environment every client (ours and the AWS CLI) sees: only s3rver.
s3_env() {
	unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN XDG_STATE_HOME \
	    AWS_SECURITY_TOKEN AWS_ENDPOINT_URL_S3 AWS_CA_BUNDLE
	export AWS_ACCESS_KEY_ID=${S3_KEY:-S3RVER}
	export AWS_SECRET_ACCESS_KEY=${S3_SECRET:-S3RVER}
	export AWS_REGION=us-east-1
	export AWS_DEFAULT_REGION=us-east-1
	export AWS_ENDPOINT_URL=$S3_ENDPOINT
	export AWS_CONFIG_FILE=$T/no-aws-config
	export AWS_SHARED_CREDENTIALS_FILE=$T/no-aws-credentials
	export HOME=$T
}

# The AWS CLI as an independent reader of what the server holds.
awscli() {
	aws --endpoint-url "$S3_ENDPOINT" --region us-east-1 "$@"
}

# rsa_key DIR: a 3072-bit RSA key pair DIR/k.pem, DIR/k.pub for
# --decrypt-key and --encrypt-key; bails out when openssl cannot.
rsa_key() {
	mkdir -p "$1"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 \
	    -out "$1/k.pem" 2>/dev/null &&
	    openssl pkey -in "$1/k.pem" -pubout -out "$1/k.pub" 2>/dev/null ||
	    { echo "Bail out! openssl cannot make RSA keys"; exit 99; }
}

# rclone's remote "T:" for the test server, through its environment.
rclone_remote() {
	export RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other \
	    RCLONE_CONFIG_T_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
	    RCLONE_CONFIG_T_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
	    RCLONE_CONFIG_T_ENDPOINT=$S3_ENDPOINT RCLONE_CONFIG_T_REGION=us-east-1 \
	    RCLONE_CONFIG_T_FORCE_PATH_STYLE=true
}

# A bucket name unique to this test run.
new_bucket() {
	echo "t-$1-$$-$RANDOM" | tr '[:upper:]_' '[:lower:]-' | cut -c1-63
}
