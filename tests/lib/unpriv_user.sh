#!/usr/bin/env bash
# Sourced by integration tests that must also run as an unprivileged user.
# Prints the name of a non-root user the tests may run as, creating
# `celltest` when the machine has none (tests run as root in CI).
# Usage: user=$(unpriv_user) ; runuser -u "$user" -- CMD...

unpriv_user() {
    if ((EUID != 0)); then
        id -un
        return
    fi
    if ! id celltest >/dev/null 2>&1; then
        useradd --system --create-home --home-dir /var/lib/celltest \
            --shell /bin/bash celltest >/dev/null 2>&1 || return 1
    fi
    echo celltest
}

# Runs a command as the unprivileged user with a clean, predictable env.
as_unpriv() {
    local user
    user=$(unpriv_user) || return 1
    if [[ $user == "$(id -un)" ]]; then
        "$@"
    else
        runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp "$@"
    fi
}
