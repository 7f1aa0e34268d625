# Real GNTP peers for tests/interop/ (sourced by scripts/system-deps, which defines apt_install).
#   growl-for-linux  a GNTP receiver (C/GTK), run headless under Xvfb with a private D-Bus
#   gntp-send        a C client;  ruby-growl: a Ruby client
#   growly, node-notifier  Node clients, pinned, installed into .peers/ (gitignored)
#   openssl          makes the self-signed certificate of the TLS server tests
# kfdm's gntp (a Python client) comes with the `test` extra (setup.cfg).
apt_install growl-for-linux xvfb xauth dbus-x11 gntp-send ruby-growl openssl
# The machine image brings Node 20 with its npm; Debian's packages only where it is missing.
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

interop_peers_dir=.peers
interop_npm_packages=(growly@1.3.0 node-notifier@10.0.1)
interop_npm_missing=()
for interop_pkg in "${interop_npm_packages[@]}"; do
    interop_name=${interop_pkg%@*}
    interop_version=${interop_pkg##*@}
    interop_manifest="$interop_peers_dir/node_modules/$interop_name/package.json"
    if ! grep -q "\"version\": \"$interop_version\"" "$interop_manifest" 2>/dev/null; then
        interop_npm_missing+=("$interop_pkg")
    fi
done
if [ ${#interop_npm_missing[@]} -gt 0 ]; then
    echo "-- npm install ${interop_npm_missing[*]} (into $interop_peers_dir/)"
    mkdir -p "$interop_peers_dir"
    # A package.json of its own keeps npm from looking for one in a parent directory.
    [ -e "$interop_peers_dir/package.json" ] \
        || echo '{"name": "gntplib-interop-peers", "private": true}' > "$interop_peers_dir/package.json"
    npm install --prefix "$interop_peers_dir" --no-audit --no-fund --loglevel=error \
        --save-exact "${interop_npm_missing[@]}" >/dev/null
fi
unset interop_pkg interop_name interop_version interop_manifest interop_npm_missing
