#!/usr/bin/env bash
# `cell`: placeholder until the launcher issue lands.
echo "cell: launcher not implemented yet" >&2
exit 70
