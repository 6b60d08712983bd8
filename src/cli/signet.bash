# bash completion for signet. The words come from signet itself
# (`signet help --complete WORDS...`, the same table as `signet help`), so
# new commands and options complete without changes here.
# Installed as ${datadir}/bash-completion/completions/signet.
_signet()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= words=() i w
	((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# The command words typed so far: everything before the first option.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == -* ]] && break
		words+=("$w")
	done
	# A value of an option that takes a file: complete file names.
	case $prev in
	--in | --out | --out-dir | --ca-file | --key-file | --public-key | --chain)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	esac
	COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" help --complete "${words[@]}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _signet signet
