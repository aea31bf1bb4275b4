# Sourced by the Nix tests. Hermetic evaluation with Debian's nix-instantiate:
# a dummy store (paths are hashed, nothing is written, no daemon), an empty
# config dir and a private HOME, so neither root's nor the host's nix setup
# changes the result. Expressions are evaluated from the source root, so they
# may say ./nix/cell-args.nix.

NIX_TEST_TMP=$(mktemp -d)
trap 'rm -rf -- "$NIX_TEST_TMP"' EXIT
export NIX_CONF_DIR=$NIX_TEST_TMP/conf HOME=$NIX_TEST_TMP/home
export XDG_CACHE_HOME=$NIX_TEST_TMP/cache XDG_CONFIG_HOME=$NIX_TEST_TMP/config
export NIX_REMOTE=
mkdir -p "$NIX_CONF_DIR" "$HOME"

# nix_eval EXPR: prints the strict JSON value; stderr carries the error.
nix_eval() {
    (cd "$SOURCE_ROOT" && nix-instantiate --store dummy:// --eval --strict --json \
        --show-trace -E "$1")
}

# nix_eval_string EXPR: the string value, raw (JSON-decoded).
nix_eval_string() {
    nix_eval "$1" | python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin))'
}

# json_list ARGS...: the compact JSON nix-instantiate prints for a list of
# strings (escapes: backslash, quote, newline, tab; UTF-8 kept as is).
json_list() {
    local out= sep= a
    for a in "$@"; do
        a=${a//\\/\\\\}
        a=${a//\"/\\\"}
        a=${a//$'\n'/\\n}
        a=${a//$'\t'/\\t}
        out+=$sep\"$a\"
        sep=,
    done
    printf '[%s]\n' "$out"
}

# expect_json NAME EXPR WANT_JSON
expect_json() {
    local got
    got=$(nix_eval "$2" 2>&1)
    expect_eq "$1" "$3" "$got"
}

# expect_error NAME EXPR TEXT: evaluation must fail and its message contain TEXT.
expect_error() {
    local out rc
    out=$(nix_eval "$2" 2>&1)
    rc=$?
    TAP_N=$((TAP_N + 1))
    if ((rc != 0)) && [[ $out == *"$3"* ]]; then
        echo "ok $TAP_N - $1"
    else
        echo "not ok $TAP_N - $1 (exit $rc)"
        printf '# want an error containing: %s\n' "$3"
        printf '%s\n' "$out" | tail -n 5 | sed 's/^/# got: /'
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}
