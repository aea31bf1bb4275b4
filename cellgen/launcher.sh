# unsafe-cell launcher body (placeholder; the launcher issue fills it).
# Appended by `cellgen --print script` after the plan function `cell_plan`.
echo "cell: launcher not implemented yet" >&2
exit 70
