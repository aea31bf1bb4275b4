# bash completion for unsafe-cell's `cell` and `cellgen`.
#
# Installed twice, as completions/cell and completions/cellgen, so that
# bash-completion's on-demand loader finds it under either name; loading it
# once registers both commands. Needs only bash; uses bash-completion's
# _command_offset after `--` when it is there.
#
# The option tables below are data; tests/nix/completions.sh checks that
# together they are exactly the options `cellgen --help` lists.

# Host directories.
_unsafe_cell_dir_opts='--worktree --log-dir --nix-daemon-socket --runtime-dir --nix-daemon --container-store --image-cache-dir'
# Host files.
_unsafe_cell_file_opts='--profile --filter --upstream-ca --relay-bin --proxy-bin --bwrap-bin --launch-bin'
# Host SRC, then an optional jail DEST.
_unsafe_cell_bind_opts='--ro-bind --bind --dev-bind --try-ro-bind --try-bind --try-dev-bind'
# Names from the caller's environment.
_unsafe_cell_env_opts='--fwd-env --try-fwd-env'
# One value we cannot guess (ids, patterns, ports, jail paths).
_unsafe_cell_value_opts='--uid --gid --tmpfs-size --max-procs --memory-max --mask --allow --deny --allow-cidr --connect-port --proxy-port --socks-port --forward --insecure-registry --image-cache-size --cache-registry
    --tmpfs --dir --chdir --add-path --set-hostname --time-zone --raw-arg'
# Two values we cannot guess.
_unsafe_cell_pair_opts='--symlink --set-env'
# One value from a fixed set.
_unsafe_cell_enum_opts='--nix --print --filter-type --share-ns'
# No value.
_unsafe_cell_flag_opts='--help --version --null --base --host-system --no-new-session
    --no-die-with-parent --nix-store --try-nix-store --proxy --raw-args --unsafe-allow-system-dir --allow-all --ssh-agent --containers --image-cache'

_unsafe_cell_enum_values() {
    case $1 in
    --nix) echo 'auto on off' ;;
    --print) echo 'argv shell json plan script' ;;
    --filter-type) echo 'bre ere fnmatch' ;;
    --share-ns) echo 'net pid user ipc uts cgroup' ;;
    esac
}

_unsafe_cell_all_opts() {
    echo $_unsafe_cell_dir_opts $_unsafe_cell_file_opts $_unsafe_cell_bind_opts \
        $_unsafe_cell_env_opts $_unsafe_cell_value_opts $_unsafe_cell_pair_opts \
        $_unsafe_cell_enum_opts $_unsafe_cell_flag_opts
}

# _unsafe_cell_in WORD LIST: is WORD one of LIST's words?
_unsafe_cell_in() {
    [[ " ${2//$'\n'/ } " == *" $1 "* ]]
}

# Fills COMPREPLY with compgen output, one entry per line (names may hold spaces).
_unsafe_cell_reply() {
    local line
    COMPREPLY=()
    while IFS= read -r line; do
        [[ -n $line ]] && COMPREPLY+=("$line")
    done < <(compgen "$@")
}

_unsafe_cell_files() {
    _unsafe_cell_reply -f -- "$1"
    compopt -o filenames 2>/dev/null
}

_unsafe_cell_dirs() {
    _unsafe_cell_reply -d -- "$1"
    compopt -o filenames 2>/dev/null
}

# Completes the value of OPTION (the word before the cursor, or two before
# for the second value of a pair or a bind's DEST).
_unsafe_cell_value() {
    local opt=$1 cur=$2
    if _unsafe_cell_in "$opt" "$_unsafe_cell_dir_opts"; then
        _unsafe_cell_dirs "$cur"
    elif _unsafe_cell_in "$opt" "$_unsafe_cell_file_opts $_unsafe_cell_bind_opts"; then
        _unsafe_cell_files "$cur"
    elif _unsafe_cell_in "$opt" "$_unsafe_cell_env_opts"; then
        _unsafe_cell_reply -e -- "$cur"
    elif _unsafe_cell_in "$opt" "$_unsafe_cell_enum_opts"; then
        _unsafe_cell_reply -W "$(_unsafe_cell_enum_values "$opt")" -- "$cur"
    else
        COMPREPLY=()
    fi
}

# Everything after `--` is a command line of its own.
_unsafe_cell_command() {
    local at=$1
    if declare -F _command_offset >/dev/null; then
        _command_offset "$at"
    elif ((COMP_CWORD == at)); then
        _unsafe_cell_reply -c -- "${COMP_WORDS[COMP_CWORD]}"
    else
        _unsafe_cell_files "${COMP_WORDS[COMP_CWORD]}"
    fi
}

# _unsafe_cell_complete FIRST EXTRA_OPTS: shared by cell and cellgen; FIRST is
# the index of the first option word.
_unsafe_cell_complete() {
    local first=$1 extra=$2 cur=${COMP_WORDS[COMP_CWORD]} i
    for ((i = first; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            _unsafe_cell_command $((i + 1))
            return
        fi
    done
    # --opt=value: one word when `=` is not in COMP_WORDBREAKS, else three.
    if [[ $cur == --*=* ]]; then
        _unsafe_cell_value "${cur%%=*}" "${cur#*=}"
        return
    fi
    local prev=${COMP_WORDS[COMP_CWORD - 1]} prev2=
    ((COMP_CWORD - 2 >= first)) && prev2=${COMP_WORDS[COMP_CWORD - 2]}
    if [[ $prev == = && $prev2 == --* ]]; then
        _unsafe_cell_value "$prev2" "$cur"
        return
    fi
    if _unsafe_cell_in "$prev" "$_unsafe_cell_dir_opts $_unsafe_cell_file_opts $_unsafe_cell_bind_opts $_unsafe_cell_env_opts $_unsafe_cell_value_opts $_unsafe_cell_pair_opts $_unsafe_cell_enum_opts"; then
        # --nix-daemon's directory is optional: an option may follow instead.
        if [[ $prev != --nix-daemon || $cur != -* ]]; then
            _unsafe_cell_value "$prev" "$cur"
            return
        fi
    fi
    if _unsafe_cell_in "$prev2" "$_unsafe_cell_pair_opts" && [[ $cur != -* ]]; then
        COMPREPLY=()
        return
    fi
    _unsafe_cell_reply -W "$(_unsafe_cell_all_opts) $extra" -- "$cur"
}

_cellgen() {
    _unsafe_cell_complete 1 '-0 -h'
}

_cell() {
    if ((COMP_CWORD == 1)) && [[ ${COMP_WORDS[1]} != -* ]]; then
        _unsafe_cell_reply -W 'doctor' -- "${COMP_WORDS[1]}"
        return
    fi
    if [[ ${COMP_WORDS[1]} == doctor ]]; then
        if [[ ${COMP_WORDS[COMP_CWORD - 1]} == --nix-daemon-socket ]]; then
            _unsafe_cell_dirs "${COMP_WORDS[COMP_CWORD]}"
        elif ((COMP_CWORD == 2)); then
            _unsafe_cell_reply -W '--nix-daemon-socket' -- "${COMP_WORDS[COMP_CWORD]}"
        else
            COMPREPLY=()
        fi
        return
    fi
    _unsafe_cell_complete 1 '-h'
}

complete -F _cellgen cellgen
complete -F _cell cell
