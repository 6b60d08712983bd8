#!/bin/bash
# listing_writes.sh - the ETag of GET /v1/me/keys is only as good as the
# rule that every write to a table the listing reads bumps the tenant's
# listing generation in its transaction (src/server/store/store_listing.h).
# This test reads the code: every function of src/server that writes
# signing_keys, projects, project_signers, team_members, teams or
# key_policies must be in store/ and call store_listing_changed; it fails,
# naming the function, when one does not. (It sees SQL written on one line
# as "INSERT INTO t", "UPDATE t", "DELETE FROM t", as this code base does.)
set -u
SRC=${1:?usage: listing_writes.sh SOURCE_DIR}
TABLES='signing_keys|projects|project_signers|team_members|teams|key_policies'
WRITE="(INSERT INTO|UPDATE|DELETE FROM) +($TABLES)([^a-z_]|\$)"
bad=0
# outside store/: no such write at all
out=$(grep -rnE "$WRITE" "$SRC/src/server" --include=*.c | grep -v "^$SRC/src/server/store/" |
    grep -vE '^[^:]*:[0-9]+:\s*(\*|/\*)')
if [[ -n $out ]]; then
	echo "writes to a listing table outside src/server/store/:"
	echo "$out"
	bad=1
fi
# in store/: per function (a top-level "name(" line, its body "{" .. "}")
for f in "$SRC"/src/server/store/*.c; do
	res=$(awk -v re="$WRITE" '
	    /^[a-z_][a-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
	    /^\{/ { inbody = 1; writes = 0; bumps = 0; next }
	    inbody && $0 ~ re { writes++ }
	    inbody && /store_listing_changed\(/ { bumps++ }
	    /^\}/ && inbody { if (writes > 0 && bumps == 0) print name; inbody = 0 }
	' "$f")
	for fn in $res; do
		echo "$(basename "$f"): $fn() writes a table GET /v1/me/keys reads but does not call store_listing_changed"
		bad=1
	done
done
n=$(cat "$SRC"/src/server/store/*.c | grep -cE "$WRITE")
((n >= 10)) || { echo "only $n listing-table writes found: the pattern no longer sees the SQL"; bad=1; }
((bad == 0)) && echo "listing_writes: $n writes to listing tables, each in a function that bumps the generation"
exit $bad
