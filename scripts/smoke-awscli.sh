#!/usr/bin/env bash
# Smoke test of gridstore with the aws CLI (v1 or v2): starts one node the
# way `make run` does (four drives, EC 2+2), but in a temporary data
# directory, then:
#   aws s3 mb; aws s3 cp up of a 50 MiB random file (multipart: the CLI
#   splits at 8 MiB); aws s3 ls of the bucket and of the object; aws s3 cp
#   down and compare the SHA-256; aws s3 presign (SigV4) and a download of
#   the URL with curl, compared too; aws s3 presign with the CLI's default
#   signature (SigV2 for aws CLI v1; v2 presigns with SigV4 only, so there
#   the step says it is skipped) and a download of that URL, compared too;
#   aws s3 rm; aws s3api head-object of the removed key must fail with 404;
#   aws s3 rb.
# The server is stopped on exit; its log is printed when a step fails.
#
# Usage: scripts/smoke-awscli.sh   (or `make smoke`)
# Environment:
#   SMOKE_ADDRESS  where the node listens (default 127.0.0.1:19000)
#   SMOKE_SIZE_MIB size of the uploaded file in MiB (default 50)
#   GO             the go command for `make build` (default go)
#   KEEP_TMP=1     keep the temporary directory (data, files, log)
set -euo pipefail

GO=${GO:-go}
ADDRESS=${SMOKE_ADDRESS:-127.0.0.1:19000}
SIZE_MIB=${SMOKE_SIZE_MIB:-50}
USER_NAME=smoke-user
PASSWORD=smoke-password-$RANDOM$RANDOM
BUCKET=smoke-bucket
KEY=dir/random.bin

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BIN=$root/bin/gridstore

say() { printf '>> smoke: %s\n' "$*"; }
die() {
	printf '!! smoke: FAILED: %s\n' "$*" >&2
	exit 1
}

command -v aws >/dev/null 2>&1 || die "the aws CLI is not installed (apt-get install awscli, or pip install awscli)"
downloader=
if command -v curl >/dev/null 2>&1; then
	downloader=curl
elif command -v python3 >/dev/null 2>&1; then
	downloader=python3
	say "curl is not installed: downloading the presigned URL with python3 instead"
else
	die "neither curl nor python3 is installed: cannot download the presigned URL"
fi
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed"

if [[ ! -x $BIN ]]; then
	say "building $BIN (make build)"
	make build GO="$GO" >/dev/null
fi

host=${ADDRESS%:*}
port=${ADDRESS##*:}
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
	die "something already listens on $ADDRESS (choose another with SMOKE_ADDRESS=host:port)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridstore-smoke.XXXXXX")
log=$tmp/server.log
server_pid=

cleanup() {
	local status=$?
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$server_pid" 2>/dev/null; then
			echo "!! smoke: the server did not stop in 10 s; killing it" >&2
			kill -KILL "$server_pid" 2>/dev/null || true
		fi
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ $status -ne 0 && -f $log ]]; then
		echo "---- server log ($log) ----" >&2
		cat "$log" >&2
		echo "---- end of server log ----" >&2
	fi
	if [[ ${KEEP_TMP:-} == 1 ]]; then
		echo ">> smoke: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
	if [[ $status -eq 0 ]]; then
		echo ">> smoke: PASS"
	else
		echo "!! smoke: FAIL (exit $status)" >&2
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting $BIN server on $ADDRESS, drives $tmp/data/data{1...4}"
mkdir -p "$tmp/data"
GRIDSTORE_ROOT_USER=$USER_NAME GRIDSTORE_ROOT_PASSWORD=$PASSWORD \
	"$BIN" server --address "$ADDRESS" "$tmp/data/data{1...4}" >"$log" 2>&1 &
server_pid=$!

ready_url=http://$ADDRESS/health/ready
ready=0
for _ in $(seq 1 300); do
	kill -0 "$server_pid" 2>/dev/null || die "the server exited during start-up"
	if [[ $downloader == curl ]]; then
		if curl -fsS -o /dev/null --max-time 2 "$ready_url" 2>/dev/null; then
			ready=1
			break
		fi
	elif "$BIN" healthcheck --url "$ready_url" >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.2
done
[[ $ready == 1 ]] || die "the server was not ready after 60 s ($ready_url)"
say "server ready"

# The CLI sees only these settings: no developer configuration, profile,
# credentials or pager can interfere.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_CA_BUNDLE AWS_REGION
export AWS_ACCESS_KEY_ID=$USER_NAME
export AWS_SECRET_ACCESS_KEY=$PASSWORD
export AWS_DEFAULT_REGION=us-east-1
# A private configuration file rather than /dev/null: aws CLI v1 presigns
# S3 URLs with Signature V2 unless told s3v4 (v2 presigns with SigV4 anyway).
# gridstore speaks both; this file makes the SigV4 presign, and
# aws-config-default (no signature_version) the CLI's default one.
cat >"$tmp/aws-config" <<'CONFIG'
[default]
s3 =
    signature_version = s3v4
CONFIG
printf '[default]\n' >"$tmp/aws-config-default"
export AWS_CONFIG_FILE=$tmp/aws-config
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true
export AWS_PAGER=

endpoint=http://$ADDRESS
awsc() { aws --endpoint-url "$endpoint" "$@"; }
say "$(aws --version 2>&1)"

say "aws s3 mb s3://$BUCKET"
awsc s3 mb "s3://$BUCKET" || die "aws s3 mb"

size=$((SIZE_MIB * 1024 * 1024))
say "writing a $SIZE_MIB MiB random file"
head -c "$size" /dev/urandom >"$tmp/up.bin"
want=$(sha256sum "$tmp/up.bin" | cut -d' ' -f1)

say "aws s3 cp up ($SIZE_MIB MiB, multipart in 8 MiB parts)"
awsc s3 cp --only-show-errors "$tmp/up.bin" "s3://$BUCKET/$KEY" || die "aws s3 cp up"

say "aws s3 ls"
listing=$(awsc s3 ls) || die "aws s3 ls"
grep -Eq "[[:space:]]$BUCKET\$" <<<"$listing" || die "aws s3 ls does not list $BUCKET: $listing"
listing=$(awsc s3 ls "s3://$BUCKET/dir/") || die "aws s3 ls s3://$BUCKET/dir/"
grep -Eq "[[:space:]]$size[[:space:]]+${KEY#dir/}\$" <<<"$listing" ||
	die "aws s3 ls s3://$BUCKET/dir/ does not list ${KEY#dir/} with $size bytes: $listing"
listing=$(awsc s3 ls "s3://$BUCKET") || die "aws s3 ls s3://$BUCKET"
grep -Eq "PRE dir/\$" <<<"$listing" || die "aws s3 ls s3://$BUCKET does not show the prefix dir/: $listing"

# The CLI uploads files above 8 MiB in 8 MiB parts: the ETag of a
# multipart object ends in -<parts>.
parts=$(((size + 8 * 1024 * 1024 - 1) / (8 * 1024 * 1024)))
head_out=$(awsc s3api head-object --bucket "$BUCKET" --key "$KEY") || die "aws s3api head-object"
if ((size > 8 * 1024 * 1024)); then
	grep -Fq -- "-$parts\\\"" <<<"$head_out" ||
		die "head-object: the ETag does not end in -$parts (was the upload not multipart?): $head_out"
fi
grep -Eq "\"ContentLength\": $size\b" <<<"$head_out" || die "head-object: ContentLength is not $size: $head_out"

say "aws s3 cp down"
awsc s3 cp --only-show-errors "s3://$BUCKET/$KEY" "$tmp/down.bin" || die "aws s3 cp down"
got=$(sha256sum "$tmp/down.bin" | cut -d' ' -f1)
[[ $got == "$want" ]] || die "downloaded file sha256 $got, uploaded $want"

# fetch URL FILE downloads a presigned URL with no credentials.
fetch() {
	if [[ $downloader == curl ]]; then
		curl -fsS --max-time 120 -o "$2" "$1"
	else
		python3 - "$1" "$2" <<'EOF'
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f)
EOF
	fi
}

say "aws s3 presign (SigV4), download with $downloader"
url=$(awsc s3 presign "s3://$BUCKET/$KEY" --expires-in 300) || die "aws s3 presign"
[[ $url == *X-Amz-Signature=* ]] ||
	die "aws s3 presign with signature_version = s3v4 made a URL without a SigV4 signature: $url"
fetch "$url" "$tmp/presigned.bin" || die "$downloader download of the SigV4 presigned URL"
got=$(sha256sum "$tmp/presigned.bin" | cut -d' ' -f1)
[[ $got == "$want" ]] || die "SigV4 presigned download sha256 $got, uploaded $want"

# The CLI's default, which is what a user who configured nothing gets: aws
# CLI v1 presigns S3 URLs with Signature V2 (AWSAccessKeyId, Expires,
# Signature); v2 presigns with SigV4 whatever it is configured with.
cli_major=$(aws --version 2>&1 | sed -n 's|^aws-cli/\([0-9]*\)\..*|\1|p')
url=$(AWS_CONFIG_FILE=$tmp/aws-config-default awsc s3 presign "s3://$BUCKET/$KEY" --expires-in 300) ||
	die "aws s3 presign with the default configuration"
if [[ $url == *[?\&]AWSAccessKeyId=* && $url == *[?\&]Signature=* && $url == *[?\&]Expires=* && $url != *X-Amz-* ]]; then
	say "aws s3 presign (the CLI's default: SigV2), download with $downloader"
	fetch "$url" "$tmp/presigned-v2.bin" || die "$downloader download of the SigV2 presigned URL"
	got=$(sha256sum "$tmp/presigned-v2.bin" | cut -d' ' -f1)
	[[ $got == "$want" ]] || die "SigV2 presigned download sha256 $got, uploaded $want"
elif [[ $cli_major == 1 ]]; then
	die "aws CLI v1 made a default presigned URL without a SigV2 signature: $url"
else
	say "aws CLI v${cli_major:-?} presigns with SigV4 only: no SigV2 URL to test (the Go tests cover SigV2)"
fi

say "aws s3 rm"
awsc s3 rm --only-show-errors "s3://$BUCKET/$KEY" || die "aws s3 rm"

say "aws s3api head-object of the removed key must fail"
if head_err=$(awsc s3api head-object --bucket "$BUCKET" --key "$KEY" 2>&1); then
	die "head-object of the removed key succeeded: $head_err"
fi
grep -Eq "404|Not Found" <<<"$head_err" || die "head-object of the removed key failed, but not with 404: $head_err"

say "aws s3 rb"
awsc s3 rb "s3://$BUCKET" || die "aws s3 rb"
listing=$(awsc s3 ls) || die "aws s3 ls after rb"
if grep -Eq "[[:space:]]$BUCKET\$" <<<"$listing"; then
	die "aws s3 ls still lists $BUCKET after rb"
fi
