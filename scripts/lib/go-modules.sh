# Helpers for the scripts that build tools from Go build modules (a go.mod of ours that requires the
# tool's module at a pinned version): setup-pulumi.sh and setup-kubernetes.sh. Sourced; expects $GO and
# a die function.

# The version a build module's go.mod requires of a module ("" if none).
required_version() { # moddir module
  (cd "$1" && "$GO" mod edit -json) | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const r = (m.Require || []).find((r) => r.Path === process.argv[1]);
    process.stdout.write(r ? r.Version : "");' "$2"
}

# Checks that a build module requires what the pins say (a pseudo-version must name the commit).
check_pin() { # moddir module version-or-commit
  local have; have=$(required_version "$1" "$2")
  case "$have" in "$3"|*-"${3:0:12}") ;; *) die "$1/go.mod requires $2 $have, the pins say $3";; esac
}
