# columns.sh - sourced by the benches that compare builds side by side
# (sign_callgrind.sh, module_callgrind.sh, token_build_callgrind.sh).
#
# cg_total FILE: the PROGRAM TOTALS of a callgrind profile, no commas.
cg_total() {
	callgrind_annotate "$1" 2>/dev/null |
	    awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

# columns WIDTH TITLE "NAMES" WORK BUILD...: a table with one column per
# build (its last two path parts) and one row per name; build J's values
# are the "NAME VALUE" lines of WORK/col.J ("-" for a name it lacks).
columns() {
	local width=$1 title=$2 names=$3 work=$4 b j label name v
	shift 4
	printf "%-${width}s" "$title"
	for b in "$@"; do
		label=$(basename "$(dirname "$b")")/$(basename "$b")
		[ ${#label} -gt 14 ] && label=${label: -14}
		printf ' %14s' "$label"
	done
	echo
	for name in $names; do
		printf "%-${width}s" "$name"
		for j in $(seq 0 $(($# - 1))); do
			v=$(awk -v k="$name" '$1 == k { print $2 }' "$work/col.$j")
			printf ' %14s' "${v:--}"
		done
		echo
	done
}
