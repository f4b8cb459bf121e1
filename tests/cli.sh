#!/bin/sh
# The command line without a server: help, version, usage errors and
# the checks that must fail before any request (exit 2).
. "${top_srcdir:-.}/tests/lib.sh"

# Point at a port where nothing listens: any request would be an error.
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretexample
export AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=$T/none AWS_SHARED_CREDENTIALS_FILE=$T/none HOME=$T

out=$("$P3BACKUP" --help); st=$?
is "$st" 0 "--help exits 0"
contains "$out" "Usage: p3backup [OPTION]... [BUCKET [DIRECTORY]]" "--help shows usage"
contains "$out" "--endpoint-url" "--help lists --endpoint-url"

out=$("$P3BACKUP" --version); st=$?
is "$st" 0 "--version exits 0"
contains "$out" "p3backup " "--version names the program"

err=$("$P3BACKUP" --no-such-option 2>&1 >/dev/null); st=$?
is "$st" 2 "unknown option: exit 2"
contains "$err" "--no-such-option: unknown option" "unknown option is named"

# BUCKET arguments that are not bucket names: each says why, exit 2.
while IFS='|' read -r arg want; do
	err=$("$P3BACKUP" -n "$arg" "$T" 2>&1); st=$?
	is "$st" 2 "BUCKET \"$arg\": exit 2"
	contains "$err" "$want" "BUCKET \"$arg\": the message says what to do"
done <<'EOF'
/srv/data|(BUCKET comes first: p3backup [OPTION]... BUCKET DIRECTORY)
s3://|s3://: no bucket name (s3://BUCKET[/PREFIX])
s3:///x|s3:///x: no bucket name
s3://bkt//x|s3://bkt//x: empty path segment
EOF
err=$("$P3BACKUP" -n "Bad/x" "$T" 2>&1)
case $err in *"s3://"*) false ;; *) true ;; esac
ok $? "no s3:// hint when the part before / is no bucket name either"

err=$("$P3BACKUP" --jobs 0 b "$T" 2>&1); st=$?
is "$st" 2 "--jobs 0: exit 2"
contains "$err" "--jobs 0: must be a whole number from 1 to 256" "--jobs range named"

err=$("$P3BACKUP" --jobs 2>&1); st=$?
is "$st" 2 "missing option argument: exit 2"
contains "$err" "needs an argument" "missing argument is named"

err=$("$P3BACKUP" --encrypt-key "$T/no-such.pem" bkt "$T" 2>&1); st=$?
is "$st" 2 "an unreadable --encrypt-key: exit 2"
contains "$err" "--encrypt-key $T/no-such.pem:" "the error names the option and the file"
printf 'not a key\n' > "$T/garbage.pem"
err=$("$P3BACKUP" --restore --decrypt-key "$T/garbage.pem" bkt "$T" 2>&1); st=$?
is "$st" 2 "a --decrypt-key that is no key: exit 2"
contains "$err" "--decrypt-key $T/garbage.pem:" "the error names the file"

err=$("$P3BACKUP" --restore 2>&1); st=$?
is "$st" 2 "--restore without a bucket: exit 2"
contains "$err" "--restore needs the BUCKET" "the missing bucket is named"
mkdir -p "$T/here"
err=$(cd "$T/here" && "$P3BACKUP" --restore bkt 2>&1); st=$?
is "$st" 2 "--restore without a DIRECTORY: exit 2"
contains "$err" "--restore needs the DIRECTORY to restore into" "the missing directory is named"
contains "$err" '"." for the current directory' "...with the hint"
err=$("$P3BACKUP" --restore --restore-tier Fast b "$T" 2>&1); st=$?
is "$st" 2 "bad --restore-tier: exit 2"

# An invalid storage class is refused before any request (the endpoint
# here is a closed port: a request would end in exit 3).
err=$("$P3BACKUP" --storage-class FAST mybucket "$T" 2>&1); st=$?
is "$st" 2 "invalid storage class: exit 2"
contains "$err" "--storage-class FAST: not a storage class" "the bad class is named"
err=$("$P3BACKUP" --max-uploads -1 mybucket "$T" 2>&1); st=$?
is "$st" 2 "negative --max-uploads: exit 2"
err=$("$P3BACKUP" --part-size 1M mybucket "$T" 2>&1); st=$?
is "$st" 2 "--part-size under 5M: exit 2"
contains "$err" "--part-size 1M: must be a size from 5242880" "the part-size rule is named"
err=$("$P3BACKUP" --exclude '[abc' mybucket "$T" 2>&1); st=$?
is "$st" 2 "malformed pattern: exit 2"
contains "$err" "[abc" "the malformed pattern is named"

err=$("$P3BACKUP" a b c 2>&1); st=$?
is "$st" 2 "three arguments: exit 2"
contains "$err" "too many arguments" "too many arguments named"

err=$("$P3BACKUP" Bad_Name "$T" 2>&1); st=$?
is "$st" 2 "invalid bucket name: exit 2"
contains "$err" 'bucket name "Bad_Name": may contain only lower-case letters' "the broken rule is named"

err=$("$P3BACKUP" ab "$T" 2>&1); st=$?
is "$st" 2 "too short bucket name: exit 2"
contains "$err" "must be 3 to 63 characters long" "length rule named"

err=$("$P3BACKUP" 192.168.1.1 "$T" 2>&1); st=$?
is "$st" 2 "IP-like bucket name: exit 2"
contains "$err" "IP address" "IP rule named"

err=$("$P3BACKUP" mybucket "$T/missing dir" 2>&1); st=$?
is "$st" 2 "missing directory: exit 2"
contains "$err" "$T/missing dir: no such directory" "missing directory named"

: > "$T/afile"
err=$("$P3BACKUP" mybucket "$T/afile" 2>&1); st=$?
is "$st" 2 "directory that is a file: exit 2"
contains "$err" "$T/afile: not a directory" "file-not-directory named"

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
err=$("$P3BACKUP" mybucket "$T" 2>&1); st=$?
is "$st" 2 "no credentials: exit 2"
contains "$err" "no AWS credentials" "missing credentials explained"
contains "$err" "$T/none" "the places looked are listed"

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretexample
err=$("$P3BACKUP" --endpoint-url ftp://x mybucket "$T" 2>&1); st=$?
is "$st" 2 "bad endpoint scheme: exit 2"
contains "$err" "ftp://x" "bad endpoint named"

finish
