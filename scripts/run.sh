#!/usr/bin/env bash
# `make run`: one gridstore node on four drive folders (erasure coding 2+2)
# until Ctrl-C, with what a person needs to connect printed first.
#
# Environment (make passes its variables of the same names):
#   RUN_DIR       where the drives live (default ./data: drives data1 ... data4)
#   RUN_ADDRESS   listen address (default 127.0.0.1:9000)
#   BIN           the binary (default bin/gridstore; `make run` builds it)
# Credentials, the first that is set wins:
#   RUN_USER / RUN_PASSWORD                    (make run RUN_USER=... RUN_PASSWORD=...)
#   GRIDSTORE_ROOT_USER / GRIDSTORE_ROOT_PASSWORD, as the server itself reads
#   the development defaults gridstore / gridstore-dev-password
# A password taken from GRIDSTORE_ROOT_PASSWORD is not printed (the user
# has it already, and terminals keep scrollback); the others are printed.
set -euo pipefail

BIN=${BIN:-bin/gridstore}
dir=${RUN_DIR:-./data}
address=${RUN_ADDRESS:-127.0.0.1:9000}

user=gridstore user_from="development default"
if [[ -n ${RUN_USER:-} ]]; then
	user=$RUN_USER user_from="RUN_USER"
elif [[ -n ${GRIDSTORE_ROOT_USER:-} ]]; then
	user=$GRIDSTORE_ROOT_USER user_from="GRIDSTORE_ROOT_USER"
fi
password=gridstore-dev-password password_from="development default"
if [[ -n ${RUN_PASSWORD:-} ]]; then
	password=$RUN_PASSWORD password_from="RUN_PASSWORD"
elif [[ -n ${GRIDSTORE_ROOT_PASSWORD:-} ]]; then
	password=$GRIDSTORE_ROOT_PASSWORD password_from="GRIDSTORE_ROOT_PASSWORD"
fi
shown_password=$password try_password=$password
if [[ $password_from == GRIDSTORE_ROOT_PASSWORD ]]; then
	shown_password="(the value of GRIDSTORE_ROOT_PASSWORD)"
	try_password='"$GRIDSTORE_ROOT_PASSWORD"'
fi

mkdir -p "$dir"
echo ">> make run: one gridstore node, four drives under $dir (erasure coding 2+2)"
echo ">>   S3 endpoint: http://$address"
echo ">>   Access key:  $user   [$user_from]"
echo ">>   Secret key:  $shown_password   [$password_from]"
echo ">>   Region:      us-east-1"
echo ">>   Try: AWS_ACCESS_KEY_ID=$user AWS_SECRET_ACCESS_KEY=$try_password AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url http://$address s3 ls"
echo ">> Ctrl-C stops it (in-flight requests are drained)."
export GRIDSTORE_ROOT_USER=$user GRIDSTORE_ROOT_PASSWORD=$password
exec "$BIN" server --address "$address" "$dir/data{1...4}"
